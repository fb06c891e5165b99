"""The exact Hessian as L-BFGS's preconditioner: where a path point starts,
and where a single fit is still running after 100 iterations.

On few parameters and dense data the Hessian of the objective in ``theta``
is cheap to form and factor: ``n (K D)^2`` and ``(K D)^3 / 3`` flops for
``K`` classes and ``D`` columns (a digits fold: 650 parameters, about 18
ms). Every backend's row sums form it with :func:`rows_hessian`. With
``H = L L'`` at the start ``theta0``, L-BFGS-B runs on ``u`` with
``theta = theta0 + L'^{-1} u`` (:class:`~sksoftmax._carry.PreconditionedProblem`),
where the Hessian is the identity at the start and stays close to it. On raw
digits, where the ill-conditioned fits at large ``C`` took hundreds of
iterations each, a point then takes about ten, whatever ``C``.

Only smooth problems (L2 penalty, no bounds) are preconditioned, as with the
carried pairs of :mod:`sksoftmax._carry`.
"""

import numpy as np
import scipy.linalg
from sklearn.utils._array_api import device

from sksoftmax._loss import softmax

# Most parameters (classes x columns) for which the Hessian is formed: its
# factorization grows as their cube.
MAX_PARAMS = 1024
# Flops of one row block's share of the Hessian, at most: BLAS's rank-k
# update is faster on more rows (digits, 650 parameters, 2 threads: 32 ms in
# blocks of 2**27 flops, 17 ms in blocks of 2**29, a 6.6 MB block of rows).
_BLOCK_FLOPS = 2**29
# Ridge relative to the mean diagonal: rounding may leave flat directions.
_RIDGE = 1e-10


def hessian_applies(sparse, dtype, n_params):
    """Whether the dense Hessian is formed for data of this kind (``sparse``,
    ``dtype``) and this many parameters.

    Dense float64 data only: on float32 data the preconditioned runs met the
    rounding of the float32 gradient (digits: fold scores up to 1.5e-2 apart
    from those without it, more fits stopped early). Every backend's row sums
    say ``sparse`` and ``dtype`` (:meth:`Objective.hessian_applies`), so a
    fit takes the same route on each.
    """
    return not sparse and np.dtype(dtype) == np.float64 and n_params <= MAX_PARAMS


def iterations_worth(n_samples, n_features, n_params):
    """How many L-BFGS iterations take as long as forming and factoring the
    Hessian: a path switches to it after a point that took more.

    A rough model of this machine's kind (2 cores, OpenBLAS): the Hessian's
    products run near 5e10 flop/s; an iteration (1.15 evaluations of two
    products) nearer 2e10, plus 0.2 ms of overhead. On a digits fold it gives
    68 (measured: 18 to 24 ms against 0.3 to 0.4 ms).
    """
    hessian = (2.0 * n_samples * n_params**2 + n_params**3 / 3) / 5e10
    iteration = 1.15 * 4.0 * n_samples * n_params / 2e10 + 2e-4
    return max(10, int(hessian / iteration))


class DenseHessianRoot:
    """``M = L'^{-1}`` with ``L L' = H``, the Hessian of an objective: the
    root :class:`~sksoftmax._carry.PreconditionedProblem` reads.

    Parameters
    ----------
    data_hessian : ndarray of shape (n_params, n_params)
        The Hessian of the data term, in ``objective``'s ``theta``.
    objective : Objective
        The objective, with its penalty set: its L2 term is added.

    Attributes
    ----------
    curvature : float
        The objective's ``curvature``: an objective built with it for the same
        ``C`` has the same ``theta`` coordinates.
    """

    def __init__(self, data_hessian, objective):
        self.data_hessian = data_hessian
        self.sigma = np.array(objective.sigma, dtype=np.float64)
        self.fit_intercept = objective.fit_intercept
        self.curvature = objective.curvature
        # In place: each new array of H's size cost about a millisecond.
        H = data_hessian.copy()
        on_diagonal = slice(None, None, len(H) + 1)  # H.flat's diagonal
        H.flat[on_diagonal] += _penalty_diagonal(objective)
        scale = max(float(np.mean(H.flat[on_diagonal])), np.finfo(float).tiny)
        if objective.fit_intercept:
            # The common shift of the intercepts changes nothing: H is zero
            # along it. Curvature there of the size of the rest keeps M from
            # blowing the gradient's rounding along it up into long steps
            # (with a small ridge, L-BFGS took them, saw no curvature, and
            # stalled at a gap estimate of 8e-8 where tol=1e-10 was asked).
            # scale * s s' with s = 1/sqrt(K) on each intercept.
            K, D = objective.n_classes, len(self.sigma) + 1
            intercepts = np.arange(D - 1, K * D, D)
            H[np.ix_(intercepts, intercepts)] += scale / K
        ridge = _RIDGE * scale
        H.flat[on_diagonal] += ridge
        for _ in range(4):
            try:
                self._L = scipy.linalg.cholesky(H, lower=True,
                                                check_finite=False)
                break
            except np.linalg.LinAlgError:  # rounding left H indefinite
                H.flat[on_diagonal] += 999.0 * ridge
                ridge *= 1e3
        else:  # pragma: no cover - a Hessian is positive semidefinite
            raise np.linalg.LinAlgError("the Hessian could not be factored")

    @classmethod
    def at(cls, objective, theta):
        """The root of ``objective``'s Hessian at ``theta``: the data term's
        from its backend's row sums (:meth:`Objective.data_hessian`)."""
        return cls(objective.data_hessian(theta), objective)

    def apply(self, u):
        """``M u = L'^{-1} u``: a step in ``u`` as a step in ``theta``."""
        return scipy.linalg.solve_triangular(self._L, u, lower=True, trans="T",
                                             check_finite=False)

    def apply_transpose(self, g):
        """``M' g = L^{-1} g``: a gradient in ``theta`` as one in ``u``."""
        return scipy.linalg.solve_triangular(self._L, g, lower=True,
                                             check_finite=False)

    def apply_inverse_transpose(self, g):
        """``M'^{-1} g = L g``: a gradient in ``u`` as one in ``theta``."""
        return self._L @ g


def _penalty_diagonal(objective):
    """The L2 term's Hessian in ``theta`` (diagonal): ``l2 pf_j / sigma_j^2``
    on the coefficients, zero on the intercepts."""
    K, d = objective.n_classes, objective.n_features
    diagonal = np.zeros((K, d + objective.fit_intercept))
    if objective.l2_reg_strength:
        pf = 1.0 if objective.penalty_factor is None else objective.penalty_factor
        sigma = objective.sigma  # divided twice: sigma**2 overflows near 1e300
        diagonal[:, :d] = objective.l2_reg_strength * pf / sigma / sigma
    return diagonal.ravel()


def _device_of(a, xp):
    """``{"device": ...}`` for creation functions of ``xp``, or nothing for
    NumPy (whose ``eye`` took no ``device`` before 2.0)."""
    return {} if xp is np else {"device": device(a)}


def rows_hessian(X, weights, coef, intercept, mu, sigma, xp=np,
                 map_blocks=None):
    """:func:`block_hessian` summed over all rows of ``X``: what a backend's
    row sums give as ``hessian`` (the arguments as there).

    The rows go in equal blocks of at most ``2**29`` flops, from the shapes
    alone, summed in block order: the same bits whichever thread computed which.
    ``map_blocks(func, n_blocks)`` computes ``[func(0), ...]`` (the fit's
    executor); None computes them in turn.
    """
    K = coef.shape[0]
    n_params = K * (coef.shape[1] + (intercept is not None))
    n_rows = X.shape[0]
    n_blocks = -(-n_rows // max(64, _BLOCK_FLOPS // n_params**2))
    step = max(1, -(-n_rows // max(n_blocks, 1)))  # blocks of equal size
    blocks = [slice(i, min(i + step, n_rows)) for i in range(0, n_rows, step)]

    def block(i):
        rows = blocks[i]
        return block_hessian(X[rows, :], weights[rows], coef, intercept, mu,
                             sigma, xp)

    parts = (map_blocks(block, len(blocks)) if map_blocks is not None
             else (block(i) for i in range(len(blocks))))
    H = None
    for part in parts:
        H = part if H is None else H + part
    return H


def block_hessian(X, weights, coef, intercept, mu, sigma, xp=np):
    """One row block's share of the data term's Hessian, in ``theta``: the
    only place it is computed (every backend's row sums call it).

    With ``a_i`` row ``i`` in ``theta``'s columns (``(x_i - mu) / sigma``,
    and a one for the intercept) and ``p_i`` its probabilities, it is
    ``sum_i s_i (diag(p_i) - p_i p_i') kron a_i a_i'``, not yet divided by
    the total weight. Target rows sum to one, so the targets do not enter.

    Parameters
    ----------
    X : array of shape (m, d)
        The block's rows (dense, namespace ``xp``).
    weights : array of shape (m,)
        The rows' weights ``s_i``.
    coef, intercept : arrays of shape (K, d) and (K,)
        The parameters in original units, in ``xp``; ``intercept`` None
        without one.
    mu, sigma : arrays of shape (d,)
        The objective's centring (None without intercept) and solver scale.
    xp : module, default=numpy
        Array namespace of the arrays.

    Returns
    -------
    H : array of shape (K D, K D)
        ``D = d + 1`` with intercept, ``d`` without; ``theta``'s order
        (class-major).
    """
    m, K = X.shape[0], coef.shape[0]
    logits = X @ coef.T
    if intercept is None:
        A = X / sigma
    else:
        logits = logits + intercept
        centred = (X - mu) / sigma
        concat = getattr(xp, "concat", None) or xp.concatenate  # NumPy < 2
        A = concat([centred, xp.ones_like(centred[:, :1])], axis=1)
    D = A.shape[1]
    P = softmax(logits, xp)
    # 1 - p_ik as the sum of the other classes' probabilities: exact where
    # p_ik is near one (a confident row), where 1 - p_ik would keep only
    # its rounding.
    others = xp.ones((K, K), dtype=P.dtype, **_device_of(P, xp)) \
        - xp.eye(K, dtype=P.dtype, **_device_of(P, xp))
    rest = P @ others
    sP = weights[:, None] * P
    # p_i p_i' off the diagonal blocks: the Gram matrix of the rows
    # sqrt(s_i) p_i kron a_i.
    root = xp.reshape(A[:, None, :] * xp.sqrt(sP * P)[:, :, None], (m, K * D))
    H = root.T @ root
    H *= -1.0
    # The diagonal blocks, p_ik (1 - p_ik) a_i a_i', written over the Gram's
    # in place: its p_ik^2 taken off p_ik would cancel on confident rows.
    # (One product for all blocks, through an (m, K D) array, took twice as
    # long: 9 ms against 4.5 ms a block of 317 rows on digits.)
    curvature = sP * rest
    for k in range(K):
        block = slice(k * D, (k + 1) * D)
        H[block, block] = (A * curvature[:, k:k + 1]).T @ A
    return H
