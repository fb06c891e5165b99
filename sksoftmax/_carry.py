"""Curvature carried along a path: the next fit starts with the last one's.

L-BFGS starts every run knowing nothing of the curvature: its first
iterations only learn what the previous run of a path had already learnt,
since the Hessian changes little from one ``C`` to the next. SciPy's
L-BFGS-B cannot be handed correction pairs, so the next run is
*preconditioned* with them instead: it works on ``u``, with

    theta = theta0 + M u,        M M = H^{-1},

where ``H^{-1}`` is the L-BFGS inverse Hessian built from the previous run's
last correction pairs ``(s_i, y_i)``. In ``u`` the Hessian is close to the
identity wherever those pairs saw it, and L-BFGS-B (which is not invariant
to a linear change of variables in its first iterations, nor in which pairs
it forgets) needs fewer iterations. Measured on 5 folds x 10 Cs from 1e-4 to
1e4 (``benchmarks/bench_cv.py``): about a fifth fewer iterations on digits,
raw and standardized, and a tenth fewer on the 20,000 x 50 problem.

``M`` is cheap: the pairs span a subspace of dimension at most ``2 m``
(``m`` the history size); ``H^{-1}`` is its own eigendecomposition there and
``gamma * I`` (the usual L-BFGS scaling ``s.y / y.y`` of the last pair)
elsewhere, so ``M u`` costs two products with an ``(n_params, 2 m)`` matrix.

Only the smooth problem (L2 penalty, no bounds) is preconditioned: the L1
split and coefficient bounds are boxes in the solver's own coordinates,
which a dense ``M`` would turn into general polytopes. The stopping rule
reads the gradient in ``theta`` (``g_theta = M^{-1} g_u``), so ``tol`` means
exactly what it means without this.
"""

import numpy as np

# Eigenvalues of the inverse Hessian kept within this factor of L-BFGS's
# scaling gamma: a guard against pairs that lost their meaning (never reached
# on the benchmark paths).
_SPREAD = 1e6


class CurvaturePairs:
    """Correction pairs of an L-BFGS run, in a path's common coordinates.

    Pairs ``(s_i, y_i)`` (steps and gradient changes) are stored in the
    coordinates ``theta`` of the objective that produced them; since every
    objective of a path shares the column centres and differs only in the
    solver scale and the L2 strength, they can be moved to the next one
    exactly (:meth:`to`).

    Parameters
    ----------
    s, y : ndarray of shape (n_pairs, n_params)
        Steps and gradient changes, oldest first.
    objective : SoftmaxObjective
        The objective they were measured on (its ``sigma``,
        ``l2_reg_strength`` and ``penalty_factor`` are kept).
    """

    def __init__(self, s, y, objective):
        self.s = np.asarray(s, dtype=np.float64)
        self.y = np.asarray(y, dtype=np.float64)
        self.sigma = np.array(objective.sigma, dtype=np.float64)
        self.l2 = objective.l2_reg_strength
        self.penalty_factor = objective.penalty_factor
        self.curvature = objective.curvature

    def to(self, objective):
        """The pairs in the coordinates of another objective of the same path.

        A coefficient of column ``j`` is ``V_kj = W_kj * sigma_j``: steps
        scale by ``sigma_new / sigma_old``, gradient changes by the inverse.
        The penalty's curvature, ``l2 * pf_j / sigma_j**2``, is exact and is
        swapped for the new one; the data term's part of the gradient changes
        is scaled by the ratio of the objectives' ``curvature`` (the data
        curvature at their starting points, see
        :class:`~sksoftmax._objective.CurvatureProbe`). Pairs that lose
        positive curvature are dropped.

        Parameters
        ----------
        objective : SoftmaxObjective
            The next objective of the path (same data, ``mu`` and classes).

        Returns
        -------
        pairs : CurvaturePairs or None
            None when no pair is left.
        """
        n_classes, d = objective.n_classes, objective.n_features
        n_cols = self.s.shape[1] // n_classes
        ratio = np.ones((n_classes, n_cols))
        ratio[:, :d] = objective.sigma / self.sigma
        ratio = ratio.ravel()
        s, y = self.s * ratio, self.y / ratio
        pf = 1.0 if objective.penalty_factor is None else objective.penalty_factor
        old_pf = 1.0 if self.penalty_factor is None else self.penalty_factor
        old_pen = np.zeros((n_classes, n_cols))
        old_pen[:, :d] = self.l2 * old_pf / objective.sigma**2
        new_pen = np.zeros((n_classes, n_cols))
        new_pen[:, :d] = objective.l2_reg_strength * pf / objective.sigma**2
        # The data term's curvature moves with the probabilities: scale it by
        # the change of data curvature between the two starting points. On
        # standardized wine (a nearly separable fold, C up 22x) the pairs as
        # measured made the next run 5x longer than a run without them.
        data = (y - s * old_pen.ravel()) * (objective.curvature / self.curvature)
        y = data + s * new_pen.ravel()
        # Positive curvature, not lost in rounding.
        keep = np.einsum("ij,ij->i", s, y) > 1e-10 * (
            np.linalg.norm(s, axis=1) * np.linalg.norm(y, axis=1))
        if not np.any(keep):
            return None
        return CurvaturePairs(s[keep], y[keep], objective)


class InverseHessianRoot:
    """``M`` with ``M M = H^{-1}``, the L-BFGS inverse Hessian of some pairs.

    Parameters
    ----------
    s, y : ndarray of shape (n_pairs, n_params)
        Correction pairs with ``s_i . y_i > 0``, oldest first.

    Examples
    --------
    >>> import numpy as np
    >>> from sksoftmax._carry import InverseHessianRoot
    >>> A = np.diag([1.0, 4.0, 9.0])
    >>> s = np.eye(3)
    >>> root = InverseHessianRoot(s, s @ A)
    >>> np.round(root.apply(root.apply(A @ np.ones(3))), 12)
    array([1., 1., 1.])
    """

    def __init__(self, s, y):
        rho = 1.0 / np.einsum("ij,ij->i", s, y)
        gamma = float(s[-1] @ y[-1]) / float(y[-1] @ y[-1])
        basis, _ = np.linalg.qr(np.vstack([s, y]).T)
        # H^{-1} on the basis by the two-loop recursion (H0 = gamma I), for
        # every basis vector at once.
        q = basis.copy()
        alpha = np.empty((len(s), q.shape[1]))
        for i in range(len(s) - 1, -1, -1):
            alpha[i] = rho[i] * (s[i] @ q)
            q -= np.outer(y[i], alpha[i])
        r = gamma * q
        for i in range(len(s)):
            beta = rho[i] * (y[i] @ r)
            r += np.outer(s[i], alpha[i] - beta)
        core = basis.T @ r
        values, vectors = np.linalg.eigh((core + core.T) / 2)
        values = np.clip(values, gamma / _SPREAD, gamma * _SPREAD)
        self._vectors = basis @ vectors
        self._root = np.sqrt(values)
        self._gamma_root = np.sqrt(gamma)

    def apply(self, u):
        """``M u``."""
        c = self._vectors.T @ u
        return self._vectors @ ((self._root - self._gamma_root) * c) + (
            self._gamma_root * u)

    def apply_inverse(self, u):
        """``M^{-1} u``."""
        c = self._vectors.T @ u
        return self._vectors @ ((1.0 / self._root - 1.0 / self._gamma_root) * c) + (
            u / self._gamma_root)

    # M is symmetric: what PreconditionedProblem asks of any root.
    apply_transpose = apply
    apply_inverse_transpose = apply_inverse


class PreconditionedProblem:
    """A smooth :class:`~sksoftmax._problem.PenalizedProblem` in ``u``.

    ``theta = theta0 + M u``, where ``M M' = H^{-1}`` for some approximate
    Hessian ``H``: :class:`InverseHessianRoot` (a path's carried pairs) or
    :class:`~sksoftmax._hessian.DenseHessianRoot` (the exact Hessian at the
    start). The solver starts at ``u = 0``. Provides what the solver, the
    callbacks and the estimator read of a problem.

    Parameters
    ----------
    problem : PenalizedProblem
        A problem without bounds or L1 split.
    theta0 : ndarray of shape (n_params,)
        The starting point in ``theta``.
    root : InverseHessianRoot or DenseHessianRoot
        ``M``, in the coordinates of ``problem.objective``: ``apply`` (``M
        u``), ``apply_transpose`` (``M' g``) and ``apply_inverse_transpose``
        (``M'^{-1} g``).
    """

    bounds = None

    def __init__(self, problem, theta0, root):
        self.problem = problem
        self.objective = problem.objective
        self.theta0 = theta0
        self.root = root

    @property
    def x0(self):
        """The start in ``u``: zero."""
        return np.zeros_like(self.theta0)

    def theta(self, u):
        """``theta0 + M u``."""
        return self.theta0 + self.root.apply(u)

    def loss_grad(self, u):
        """Objective and gradient in ``u``: ``M' g_theta``."""
        f, grad = self.problem.loss_grad(self.theta(u))
        grad_u = self.root.apply_transpose(grad)
        self._last = (grad_u, grad)
        return f, grad_u

    def rule_gradient(self, grad):
        """The gradient the stopping rule reads: that of ``theta``."""
        last = getattr(self, "_last", None)
        if last is not None and grad is last[0]:
            grad = last[1]  # the latest evaluation's, as computed
        else:
            grad = self.root.apply_inverse_transpose(grad)
        return self.problem.rule_gradient(grad)

    def to_original(self, u):
        """``(coef, intercept)`` at ``u``."""
        return self.problem.to_original(self.theta(u))

    def solution(self, u):
        """``(coef, intercept)`` of a solver result."""
        return self.problem.solution(self.theta(u))

    def pairs_in_theta(self, s, y):
        """Pairs measured in ``u``, in ``theta``: ``M s`` and ``M'^{-1} y``."""
        return (np.array([self.root.apply(v) for v in s]),
                np.array([self.root.apply_inverse_transpose(v) for v in y]))
