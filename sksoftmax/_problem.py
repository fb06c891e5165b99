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

from sksoftmax._solver import projected_gradient


class PenalizedProblem:
    """The conditioned objective with L1 / elastic-net, penalty factors, bounds.

    The entry point for a regularization path (``SoftmaxClassifierCV``):
    build one problem per (validated, conditioned) data set, then for each
    ``(C, l1_ratio)`` call :meth:`set_penalty` (cheap: no data pass, no new
    column statistics), map the previous solution in with :meth:`start`
    (this must be done *after* :meth:`set_penalty`: the solver scale depends
    on the L2 strength), run ``minimize_lbfgs(problem.loss_grad, x0,
    bounds=problem.bounds, ...)`` and map the result out with
    :meth:`solution`::

        problem = PenalizedProblem(objective, C=Cs[0], l1_ratio=r)
        coef, intercept = zeros, log_priors
        for C in Cs:
            problem.set_penalty(C, r)
            result = minimize_lbfgs(problem.loss_grad,
                                    problem.start(coef, intercept),
                                    bounds=problem.bounds, ...)
            coef, intercept = problem.solution(result.x)

    Parameters
    ----------
    objective : SoftmaxObjective
        The data term and conditioning (any backend's subclass). Its
        ``l2_reg_strength``, ``penalty_factor`` and ``sigma`` are set by
        :meth:`set_penalty`.
    C : float
        Inverse regularization strength in the units of the objective's
        weights (``C * C_scale`` is used); ``np.inf`` means no penalty.
    l1_ratio : float, default=0.0
        In ``[0, 1]``: the L1 share of the penalty.
    penalty_factor : ndarray of shape (n_features,), default=None
        Nonnegative, finite factors of each column's penalty (L1 and L2);
        None means all ones.
    lower, upper : ndarray of shape (n_classes, n_features), default=None
        Bounds on the coefficients (``-inf`` / ``inf`` allowed), with
        ``lower <= 0 <= upper``; None means unbounded.
    C_scale : float, default=1.0
        Factor applied to every ``C`` given here: the factor by which
        :func:`~sksoftmax._targets.fit_weights` scaled ``C`` when it rescaled
        the weights, so that callers can pass the user's ``C``.

    Attributes
    ----------
    loss_grad : callable
        ``loss_grad(x) -> (f, grad)`` for ``jac=True`` solvers.
    bounds : scipy.optimize.Bounds or None
        Bounds on ``x``; None when there are none.
    n_split : int
        Number of split entries (length of ``B``).
    """

    def __init__(self, objective, *, C, l1_ratio=0.0, penalty_factor=None,
                 lower=None, upper=None, C_scale=1.0):
        self.objective = objective
        self.C_scale = float(C_scale)
        self.penalty_factor = (None if penalty_factor is None
                               else np.asarray(penalty_factor, dtype=np.float64))
        self.lower = None if lower is None else np.asarray(lower, dtype=np.float64)
        self.upper = None if upper is None else np.asarray(upper, dtype=np.float64)
        self.set_penalty(C, l1_ratio)

    def set_penalty(self, C, l1_ratio):
        """Change ``C`` and ``l1_ratio``; cheap, the data is not touched.

        Parameters
        ----------
        C : float
            New inverse regularization strength (times ``C_scale``).
        l1_ratio : float
            New L1 share, in ``[0, 1]``.
        """
        objective = self.objective
        K, d = objective.n_classes, objective.n_features
        C = float(C) * self.C_scale
        strength = 0.0 if np.isinf(C) else 1.0 / (C * objective.weight_sum)
        l1 = strength * l1_ratio
        l2 = strength - l1 if l1_ratio < 1 else 0.0
        self.C, self.l1_ratio, self.l1_reg_strength = C, float(l1_ratio), l1
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
            lb[:, :d] = np.broadcast_to(self.lower, (K, d)) * scale
        if self.upper is not None:
            ub[:, :d] = np.broadcast_to(self.upper, (K, d)) * scale
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
        bounded = self.lower is not None or self.upper is not None
        if not bounded and not self.n_split:
            self.bounds = None
        else:
            lb_A, ub_A = lb.ravel().copy(), ub.ravel()
            lb_A[self._split] = 0.0
            self.bounds = scipy.optimize.Bounds(
                np.concatenate([lb_A, np.zeros(self.n_split)]),
                np.concatenate([ub_A, -lb.ravel()[self._split]]),
            )
        self._smooth = not self.n_split and not np.any(self._lin_A)
        self.loss_grad = objective.loss_grad if self._smooth else self._loss_grad

    def projected_gradient(self, x):
        """Gradient at ``x`` with components blocked by a bound zeroed.

        Parameters
        ----------
        x : ndarray of shape (n_vars,)

        Returns
        -------
        grad : ndarray of shape (n_vars,)
            Zero at a KKT point.
        """
        return projected_gradient(x, self.loss_grad(x)[1], self.bounds)

    def rule_gradient(self, grad):
        """The gradient the stopping rule reads, from the solver's.

        The gradient in the default conditioning (see
        :meth:`~sksoftmax._objective.SoftmaxObjective.rule_scale`); a split
        entry's ``B`` part takes the factor of its ``theta`` entry.

        Parameters
        ----------
        grad : ndarray of shape (n_vars,)

        Returns
        -------
        grad : ndarray of shape (n_vars,)
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
        """``theta`` (the objective's parameters) for ``x``.

        Parameters
        ----------
        x : ndarray of shape (n_vars,)

        Returns
        -------
        theta : ndarray of shape (n_classes * (n_features + fit_intercept),)
        """
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
        """``x`` for given original parameters (a warm start), made feasible.

        Parameters
        ----------
        coef : array of shape (n_classes, n_features)
        intercept : array of shape (n_classes,)

        Returns
        -------
        x : ndarray of shape (n_vars,)
        """
        return self.split(self.objective.from_original(coef, intercept))

    def split(self, theta):
        """``x`` for given ``theta``, projected onto the box; inverse of
        :meth:`theta` (exact zeros of ``theta`` stay exact).

        Parameters
        ----------
        theta : ndarray of shape (n_classes * (n_features + fit_intercept),)

        Returns
        -------
        x : ndarray of shape (n_vars,)
        """
        if self._smooth and self.bounds is None:
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
        """``(coef, intercept)`` for ``x``, without canonical shift.

        Parameters
        ----------
        x : ndarray of shape (n_vars,)

        Returns
        -------
        coef : ndarray of shape (n_classes, n_features)
        intercept : ndarray of shape (n_classes,)
        """
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
        """``(coef, intercept)`` for a solver result, in canonical form.

        Exact zeros stay exact: an entry whose halves are both at their bound
        zero maps to ``0.0``. Where the optimum is not unique along the class
        axis (see :func:`canonical_shift`), the columns are shifted to the
        canonical representative.

        Parameters
        ----------
        x : ndarray of shape (n_vars,)

        Returns
        -------
        coef : ndarray of shape (n_classes, n_features)
        intercept : ndarray of shape (n_classes,)
        """
        coef, intercept = self.to_original(x)
        if self._smooth:
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


def check_penalty_params(penalty_factor, coef_bounds, positive, n_classes,
                         n_features):
    """Validate ``penalty_factor``, ``coef_bounds`` and ``positive``.

    Parameters
    ----------
    penalty_factor : array-like of shape (n_features,) or None
        Nonnegative, finite per-feature factors.
    coef_bounds : tuple (lower, upper) or None
        Each a scalar or an array broadcastable to ``(n_classes, n_features)``,
        with ``lower <= 0 <= upper``.
    positive : bool
        Shorthand for ``lower = 0`` (combined with ``coef_bounds``'s upper).
    n_classes, n_features : int
        Shape of ``coef_``.

    Returns
    -------
    penalty_factor : ndarray of shape (n_features,) or None
    lower, upper : ndarray of shape (n_classes, n_features) or None
        None when unbounded on that side.

    Raises
    ------
    ValueError
        Naming the parameter, for wrong shapes, negative or non-finite
        factors, bounds that exclude zero or cross.
    """
    if penalty_factor is not None:
        try:
            pf = np.asarray(penalty_factor, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"penalty_factor must be an array of numbers; got {exc}."
            ) from None
        if pf.shape != (n_features,):
            raise ValueError(
                f"penalty_factor has shape {pf.shape}; X has {n_features} "
                f"features, so it must have shape ({n_features},)."
            )
        if not np.all(np.isfinite(pf)) or np.any(pf < 0):
            bad = np.flatnonzero(~(np.isfinite(pf) & (pf >= 0)))
            raise ValueError(
                "penalty_factor must be finite and nonnegative; features "
                f"{bad[:10].tolist()} are not."
            )
        penalty_factor = pf
    lower = upper = None
    if coef_bounds is not None:
        if not isinstance(coef_bounds, tuple | list) or len(coef_bounds) != 2:
            raise ValueError(
                "coef_bounds must be a pair (lower, upper); got "
                f"{type(coef_bounds).__name__} {coef_bounds!r:.60}."
            )
        lower, upper = (_bound(b, name, n_classes, n_features)
                        for b, name in zip(coef_bounds, ("lower", "upper"),
                                           strict=True))
        if np.any(lower > upper):
            raise ValueError(
                "coef_bounds has lower > upper for some coefficients; every "
                "lower bound must be at most its upper bound."
            )
        if np.any(lower > 0) or np.any(upper < 0):
            raise ValueError(
                "coef_bounds must allow zero (lower <= 0 <= upper, glmnet's "
                "rule): a coefficient of zero has to be feasible."
            )
    if positive and lower is not None and np.any(np.isfinite(lower) & (lower != 0)):
        raise ValueError(
            "positive=True sets every lower bound to 0, but coef_bounds gives "
            "other lower bounds; give coef_bounds=(-np.inf, upper) or (0, upper) "
            "with positive=True, or drop positive."
        )
    if positive:
        lower = np.zeros((n_classes, n_features)) if lower is None else (
            np.maximum(lower, 0.0))
        if upper is None:
            upper = np.full((n_classes, n_features), np.inf)
    if lower is not None and np.all(lower == -np.inf) and np.all(upper == np.inf):
        return penalty_factor, None, None
    return penalty_factor, lower, upper


def _bound(value, name, n_classes, n_features):
    try:
        b = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"coef_bounds {name} must be a number or an array of numbers; got "
            f"{value!r:.60}."
        ) from None
    try:
        b = np.broadcast_to(b, (n_classes, n_features))
    except ValueError:
        raise ValueError(
            f"coef_bounds {name} has shape {b.shape}, which does not broadcast "
            f"to coef_'s shape ({n_classes}, {n_features}) (n_classes, "
            "n_features)."
        ) from None
    if np.any(np.isnan(b)):
        raise ValueError(f"coef_bounds {name} contains NaN.")
    return np.array(b)
