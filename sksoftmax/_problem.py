"""What L-BFGS-B sees: the objective, an optional L1 split, box bounds.

The estimator's objective is::

    f(W, b) = sum_i s_i CE_i / S
              + sum_j pf_j (l1_ratio ||W[:, j]||_1
                            + (1 - l1_ratio) ||W[:, j]||^2 / 2) / (C S)
    subject to  lower <= W <= upper

:class:`~sksoftmax._objective.SoftmaxObjective` provides the data term and
the (smooth) L2 part, in conditioned coordinates ``theta = (V, c)`` with
``V = W * s`` (``s`` the solver scale of each column). This module adds the
rest without ever leaving those coordinates:

- **The L1 split.** Each penalized entry ``V_kj`` with ``lower < 0 < upper``
  becomes ``V_kj = A_kj - B_kj`` with ``A_kj, B_kj >= 0``; at the optimum one
  of the two is zero and ``|V_kj| = A_kj + B_kj``, so the L1 term is *linear*,
  ``lambda_1 pf_j / s_j * (A_kj + B_kj)`` with ``lambda_1 = l1_ratio / (C S)``
  (scaling a column keeps the signs, so ``|W_kj| = |V_kj| / s_j``). An entry
  whose bounds already fix its sign (``lower >= 0`` or ``upper <= 0``) needs
  no split: ``|V_kj| = +-V_kj`` is linear there. L-BFGS-B handles the bounds
  ``A, B >= 0`` exactly, so entries at zero are exact zeros.
- **Box bounds** on ``W`` map to ``lower * s <= V <= upper * s``; the
  intercept (``c = b + W mu``) stays free, as the bounds are on ``coef``
  only.

The flat vector L-BFGS-B sees is ``x = (A, B)``: ``A`` has the layout of
``theta`` (``(n_classes, n_features + fit_intercept)``, intercept last), and
``theta = A`` except at the split entries, where ``theta = A - B``; ``B``
holds only the split entries. Without L1 and without bounds ``x`` *is*
``theta`` and :attr:`PenalizedProblem.loss_grad` is the objective's own: the
L2 fit pays nothing for this layer.
"""

import numpy as np
import scipy.optimize
import scipy.sparse as sp

from sksoftmax._objective import SoftmaxObjective
from sksoftmax._penalty import Penalty
from sksoftmax._solver import projected_gradient


class PenalizedProblem:
    """The conditioned objective with L1 / elastic-net, penalty factors, bounds.

    Owns the penalty of a fit: it turns the :class:`~sksoftmax._penalty.Penalty`
    (the user's units) into strengths once, sets the L2 part on the objective
    (whose conditioning follows it) and adds the L1 part and the bounds here.
    A path (``SoftmaxClassifierCV``) may change the penalty with
    :meth:`set_penalty` (cheap: no data pass, no new column statistics); the
    :class:`~sksoftmax._fitter.Fitter` maps a start in with :meth:`start`
    (after the penalty is set: the solver scale depends on it), runs L-BFGS-B
    on :attr:`loss_grad` within :attr:`bounds` and maps the result out with
    :meth:`solution`.

    Parameters
    ----------
    objective : SoftmaxObjective
        The data term and conditioning (any backend's). Its
        ``l2_reg_strength``, ``penalty_factor`` and ``sigma`` are set here.
    penalty : Penalty
        ``C``, ``l1_ratio``, factors and bounds, validated, in the user's
        units.
    weight_scale : float, default=1.0
        The power of two by which :func:`~sksoftmax._targets.fit_weights`
        divided the user's weights (see :meth:`Penalty.strength`).

    Attributes
    ----------
    loss_grad : callable
        ``loss_grad(x) -> (f, grad)`` for ``jac=True`` solvers.
    bounds : scipy.optimize.Bounds or None
        Bounds on ``x``; None when there are none.
    n_split : int
        Number of split entries (length of ``B``).
    smooth : bool
        Whether the problem is the objective itself (no L1 term): then it
        may be preconditioned (:mod:`sksoftmax._carry`).
    """

    def __init__(self, objective, penalty, *, weight_scale=1.0):
        self.objective = objective
        self.weight_scale = float(weight_scale)
        self.set_penalty(penalty)

    def set_penalty(self, penalty):
        """Change the penalty (factors and bounds of the same shapes); cheap."""
        objective = self.objective
        K, d = objective.n_classes, objective.n_features
        self.penalty = penalty
        self.penalty_factor = penalty.penalty_factor
        self.lower, self.upper = penalty.lower, penalty.upper
        strength = penalty.strength(objective.weight_sum, self.weight_scale)
        l1 = strength * penalty.l1_ratio
        l2 = strength - l1 if penalty.l1_ratio < 1 else 0.0
        if l2 != objective.l2_reg_strength or (
            self.penalty_factor is not None
            and objective.penalty_factor is not self.penalty_factor
        ):
            objective.set_penalty(l2, self.penalty_factor)
        scale = objective.sigma
        n_cols = d + objective.fit_intercept
        # Per-entry L1 weight in the solver's coordinates, on the theta grid.
        pen = np.zeros((K, n_cols))
        if l1:
            pf = 1.0 if self.penalty_factor is None else self.penalty_factor
            pen[:, :d] = l1 * pf / scale
        lb = np.full((K, n_cols), -np.inf)
        ub = np.full((K, n_cols), np.inf)
        if self.lower is not None:
            lb[:, :d] = self.lower * scale
            ub[:, :d] = self.upper * scale
        split = (pen > 0) & (lb < 0) & (ub > 0)
        # On the theta grid, for the working-set solver (_working_set.py).
        self.l1_weight, self.theta_lb, self.theta_ub = (
            pen.ravel(), lb.ravel(), ub.ravel())
        # Unsplit entries with an L1 weight have their sign fixed by a bound.
        sign = np.where(split | (lb >= 0), 1.0, -1.0)
        self._lin_A = (pen * sign).ravel()
        self._split = np.flatnonzero(split)
        self._lin_B = pen.ravel()[self._split]
        self.n_split = len(self._split)
        self._n_theta = K * n_cols
        self.bounds = None
        if self.lower is not None or self.n_split:
            lb_A, ub_A = lb.ravel().copy(), ub.ravel()
            lb_A[self._split] = 0.0
            self.bounds = scipy.optimize.Bounds(
                np.concatenate([lb_A, np.zeros(self.n_split)]),
                np.concatenate([ub_A, -lb.ravel()[self._split]]),
            )
        self.smooth = not self.n_split and not np.any(self._lin_A)
        self.loss_grad = objective.loss_grad if self.smooth else self._loss_grad

    def projected_gradient(self, x):
        """Gradient at ``x``, components blocked by a bound zeroed (0 at KKT)."""
        return projected_gradient(x, self.loss_grad(x)[1], self.bounds)

    def rule_gradient(self, grad):
        """The gradient the stopping rule reads, from the solver's ``grad``.

        The gradient in the default conditioning (see
        :meth:`~sksoftmax._objective.Objective.rule_scale`); a split entry's ``B``
        part takes the factor of its ``theta`` entry.
        """
        scale = self.objective.rule_scale()
        if scale is None:
            return grad
        if self.n_split:
            scale = np.concatenate([scale, scale[self._split]])
        return grad * scale

    @property
    def n_vars(self):
        """Length of ``x``."""
        return self._n_theta + self.n_split

    def theta(self, x):
        """``theta`` (the objective's parameters) for ``x``."""
        if not self.n_split:
            return x[: self._n_theta]
        theta = x[: self._n_theta].copy()
        theta[self._split] -= x[self._n_theta:]
        return theta

    def _loss_grad(self, x):
        n = self._n_theta
        f, g = self.objective.loss_grad(self.theta(x))
        f += float(self._lin_A @ x[:n])
        grad_A = g + self._lin_A
        if not self.n_split:
            return f, grad_A
        f += float(self._lin_B @ x[n:])
        return f, np.concatenate([grad_A, self._lin_B - g[self._split]])

    def start(self, coef, intercept):
        """``x`` for original ``(coef, intercept)`` (a warm start), made feasible."""
        return self.split(self.objective.from_original(coef, intercept))

    def split(self, theta):
        """``x`` for given ``theta``, projected onto the box; inverse of
        :meth:`theta` (exact zeros of ``theta`` stay exact).
        """
        if self.smooth and self.bounds is None:
            return theta
        n = self._n_theta
        lb, ub = self.bounds.lb, self.bounds.ub
        # Project onto the box of theta, then split the split entries.
        full_lb = lb[:n].copy()
        full_lb[self._split] = -ub[n:]
        theta = np.clip(theta, full_lb, ub[:n])
        B = np.maximum(-theta[self._split], 0.0)
        A = theta
        A[self._split] = np.maximum(theta[self._split], 0.0)
        return np.concatenate([A, B])

    def to_original(self, x):
        """``(coef, intercept)`` for ``x``, without canonical shift."""
        theta = self.theta(x)
        coef, intercept = self.objective.to_original(theta)
        if self.lower is not None or self.upper is not None:
            # Rounding in V / s must neither step outside the bounds nor
            # leave an entry at its bound a hair inside it (a "free" entry
            # to any KKT check): entries at a bound of theta are put on it.
            K, d = coef.shape
            grid = theta.reshape(K, -1)[:, :d]
            lo = np.broadcast_to(-np.inf if self.lower is None else self.lower,
                                 coef.shape)
            hi = np.broadcast_to(np.inf if self.upper is None else self.upper,
                                 coef.shape)
            coef = np.where(grid <= self.theta_lb.reshape(K, -1)[:, :d], lo,
                            np.where(grid >= self.theta_ub.reshape(K, -1)[:, :d],
                                     hi, np.clip(coef, lo, hi)))
        return coef, intercept

    def solution(self, x):
        """``(coef, intercept)`` for a solver result ``x``, in canonical form.

        Exact zeros stay exact: an entry whose halves are both at their bound
        zero maps to ``0.0``. Where the optimum is not unique along the class
        axis (see :func:`canonical_shift`), the columns are shifted to the
        canonical representative.
        """
        coef, intercept = self.to_original(x)
        if self.smooth:
            return coef, intercept
        d = self.objective.n_features
        pf = np.ones(d) if self.penalty_factor is None else self.penalty_factor
        no_l2 = (self.objective.l2_reg_strength * pf) == 0
        return canonical_shift(coef, no_l2, pf > 0, self.lower,
                               self.upper), intercept


def canonical_shift(coef, columns, l1_columns, lower=None, upper=None):
    """Shift columns along the class axis to the canonical optimum.

    Adding ``c_j`` to every class's coefficient of feature ``j`` changes no
    prediction. Without an L2 part in a column's penalty the optimum may
    therefore not be unique: the L1 term ``sum_k |W_kj + c_j|`` is minimal
    for every ``-c_j`` in the median interval ``[lo_j, hi_j]`` of the column
    (the two middle values for an even number of classes; a single point,
    hence a unique optimum, for an odd one), and an unpenalized column can be
    shifted freely. The canonical form is the representative of smallest
    Euclidean norm: ``c_j`` is minus the column mean clipped to that interval
    (and to the shifts the bounds allow). It is the limit of the elastic-net
    solution as ``l1_ratio -> 1``; for two classes it is the symmetric form
    ``coef[1] = -coef[0]``. Columns whose interval is a single point are left
    alone, so exact zeros stay exact.

    Parameters
    ----------
    coef : ndarray of shape (n_classes, n_features)
        An optimal solution.
    columns : ndarray of shape (n_features,) of bool
        Columns without L2 penalty: those that may be shifted.
    l1_columns : ndarray of shape (n_features,) of bool
        Columns with an L1 penalty (the others among ``columns`` are not
        penalized at all).
    lower, upper : ndarray broadcastable to coef's shape, default=None
        Bounds that the shifted coefficients must keep.

    Returns
    -------
    coef : ndarray of shape (n_classes, n_features)
    """
    columns = np.asarray(columns, dtype=bool)
    if not np.any(columns):
        return coef
    K = coef.shape[0]
    W = coef[:, columns]
    ordered = np.sort(W, axis=0)
    l1 = l1_columns[columns]
    lo = np.where(l1, ordered[(K - 1) // 2], -np.inf)
    hi = np.where(l1, ordered[K // 2], np.inf)
    shift = np.clip(-W.mean(axis=0), -hi, -lo)
    if lower is not None:
        lo_b = np.broadcast_to(lower, coef.shape)[:, columns]
        shift = np.maximum(shift, np.max(lo_b - W, axis=0))
    if upper is not None:
        hi_b = np.broadcast_to(upper, coef.shape)[:, columns]
        shift = np.minimum(shift, np.min(hi_b - W, axis=0))
    # A single optimal shift: the solver's point is it, keep its exact zeros.
    shift = np.where(hi > lo, shift, 0.0)
    coef = coef.copy()
    coef[:, columns] = W + shift
    return coef


def objective_function(X, y, C=1.0, l1_ratio=0.0):
    """The estimators' objective on ``(X, y)`` as a function of the parameters.

    ``f(W, b)`` of :class:`~sksoftmax.SoftmaxClassifier` (unit sample
    weights, an intercept, no penalty factors), in float64, computed by the
    same objective and problem as the fit: the yardstick on which the demo
    and the benchmarks compare fitted models.

    Parameters
    ----------
    X : ndarray or scipy sparse matrix of shape (n_samples, n_features)
        Data.
    y : ndarray of shape (n_samples,)
        Labels (sorted, they give the rows of ``coef``).
    C : float, default=1.0
        Inverse regularization strength; ``np.inf`` means no penalty.
    l1_ratio : float, default=0.0
        The L1 share of the penalty.

    Returns
    -------
    value : callable
        ``value(coef, intercept) -> float``. ``coef`` may be sparse, and for
        two classes may have one row ``w`` (scikit-learn's binary
        parametrization, taken as the two-vector softmax ``(-w/2, w/2)``,
        whose penalty is the smallest among those of equal probabilities).
    """
    X = X.astype(np.float64)
    classes, codes = np.unique(y, return_inverse=True)
    objective = SoftmaxObjective(X, codes, np.ones(len(codes)), len(classes),
                                 np.inf, True)
    problem = PenalizedProblem(objective, Penalty(float(C), float(l1_ratio)))

    def value(coef, intercept):
        coef = coef.toarray() if sp.issparse(coef) else coef
        coef = np.asarray(coef, dtype=np.float64)
        intercept = np.asarray(intercept, dtype=np.float64).ravel()
        if coef.shape[0] == 1 and len(classes) == 2:
            coef = np.vstack([-coef / 2, coef / 2])
            intercept = np.hstack([-intercept / 2, intercept / 2])
        return float(problem.loss_grad(problem.start(coef, intercept))[0])

    return value
