"""The exact Hessian where a path point starts, as L-BFGS's preconditioner.

On few parameters and dense data the Hessian of the objective in ``theta``
is cheap to form and factor: ``n (K D)^2`` and ``(K D)^3 / 3`` flops for
``K`` classes and ``D`` columns (digits: 650 parameters, about 25 ms). With
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
import scipy.sparse as sp
from scipy.special import softmax

from sksoftmax._executor import current_executor

# Most parameters (classes x columns) for which the Hessian is formed: its
# factorization grows as their cube.
MAX_PARAMS = 1024
# Flops of one row block's share of the Hessian.
_BLOCK_FLOPS = 2**27
# Ridge relative to the mean diagonal: rounding may leave flat directions.
_RIDGE = 1e-10


def hessian_applies(X, n_params):
    """Whether the dense Hessian is formed for these data and parameters.

    Dense float64 data only: on float32 data the preconditioned runs met the
    rounding of the float32 gradient (digits: fold scores up to 1.5e-2 apart
    from those without it, more fits stopped early).
    """
    return (not sp.issparse(X) and X.dtype == np.float64
            and n_params <= MAX_PARAMS)


def iterations_worth(n_samples, n_features, n_params):
    """How many L-BFGS iterations take as long as forming and factoring the
    Hessian: a path switches to it after a point that took more.

    A rough model of this machine's kind (2 cores, OpenBLAS): the Hessian's
    products run near 5e10 flop/s; an iteration (1.15 evaluations of two
    products) nearer 2e10, plus 0.2 ms of overhead. On digits it gives 68
    (measured: 24 ms against 0.4 ms).
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
        H = data_hessian + np.diag(_penalty_diagonal(objective))
        scale = max(float(np.mean(np.diag(H))), np.finfo(float).tiny)
        if objective.fit_intercept:
            # The common shift of the intercepts changes nothing: H is zero
            # along it. Curvature there of the size of the rest keeps M from
            # blowing the gradient's rounding along it up into long steps
            # (with a small ridge, L-BFGS took them, saw no curvature, and
            # stalled at a gap estimate of 8e-8 where tol=1e-10 was asked).
            shift = np.zeros((objective.n_classes, len(self.sigma) + 1))
            shift[:, -1] = 1.0 / np.sqrt(objective.n_classes)
            shift = shift.ravel()
            H = H + scale * np.outer(shift, shift)
        ridge = _RIDGE * scale
        for _ in range(4):
            try:
                self._L = scipy.linalg.cholesky(
                    H + ridge * np.eye(len(H)), lower=True, check_finite=False)
                break
            except np.linalg.LinAlgError:  # rounding left H indefinite
                ridge *= 1e3
        else:  # pragma: no cover - a Hessian is positive semidefinite
            raise np.linalg.LinAlgError("the Hessian could not be factored")

    @classmethod
    def at(cls, objective, X, weights, theta):
        """The root of ``objective``'s Hessian at ``theta`` (rows ``X``,
        weights ``weights``)."""
        return cls(_data_hessian(objective, X, weights, theta), objective)

    def to(self, objective):
        """The same data Hessian as a root of ``objective`` (another ``C``
        or solver scale of the same data), with its own L2 term.

        A coefficient's ``theta`` entry is ``W_kj * sigma_j``: the data
        Hessian scales by ``sigma_old / sigma_new`` on each side.
        """
        ratio = np.ones((objective.n_classes,
                         len(self.sigma) + self.fit_intercept))
        ratio[:, :len(self.sigma)] = self.sigma / objective.sigma
        ratio = ratio.ravel()
        return DenseHessianRoot(
            self.data_hessian * ratio[:, None] * ratio[None, :], objective)

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
        diagonal[:, :d] = objective.l2_reg_strength * pf / objective.sigma**2
    return diagonal.ravel()


def _data_hessian(objective, X, weights, theta):
    """The Hessian of ``objective``'s data term (mean cross-entropy) at
    ``theta``.

    With ``a_i`` row ``i`` in ``theta``'s columns (centred and scaled, and
    a one for the intercept) and ``p_i`` its probabilities, it is
    ``sum_i s_i (diag(p_i) - p_i p_i') kron a_i a_i' / S``. Row blocks
    run on the fit's threads (:mod:`sksoftmax._executor`) and are summed in
    block order.
    """
    K, d = objective.n_classes, objective.n_features
    D = d + objective.fit_intercept
    coef, intercept = objective.to_original(theta)
    scale = weights / objective.weight_sum
    # Blocks of about 2**27 flops, from the shapes alone (the same bits
    # with any number of threads).
    rows = max(64, _BLOCK_FLOPS // (K * D) ** 2)
    blocks = [slice(i, i + rows) for i in range(0, X.shape[0], rows)]

    def block(i):
        Xb = np.asarray(X[blocks[i]], dtype=np.float64)
        P = softmax(Xb @ coef.T + intercept, axis=1)
        A = (Xb - objective.mu) / objective.sigma if objective.fit_intercept \
            else Xb / objective.sigma
        if objective.fit_intercept:
            A = np.hstack([A, np.ones((len(A), 1))])
        s = scale[blocks[i]]
        root_s_P = np.sqrt(s)[:, None] * P
        Z = (A[:, None, :] * root_s_P[:, :, None]).reshape(len(A), K * D)
        H = -(Z.T @ Z)  # the p_i p_i' part
        for k in range(K):  # the diag(p_i) part: one D x D block per class
            H[k * D:(k + 1) * D, k * D:(k + 1) * D] += (
                A * (s * P[:, k])[:, None]).T @ A
        return H

    H = None
    for part in current_executor().map(block, len(blocks)):
        H = part if H is None else H + part
    return H
