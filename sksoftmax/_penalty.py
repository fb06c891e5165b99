"""The penalty of a fit, stated once in the user's units.

The estimators' penalty and constraints are::

    sum_j pf_j (l1_ratio ||W[:, j]||_1 + (1 - l1_ratio) ||W[:, j]||^2 / 2) / (C S)
    subject to  lower <= W <= upper

with ``S`` the total sample weight. :class:`Penalty` holds ``C``,
``l1_ratio``, ``pf`` (``penalty_factor``) and the bounds exactly as the user
gave them, validated once when a fit starts. The only conversion to a
strength, ``1 / (C S)``, is :meth:`Penalty.strength`; the problem
(:mod:`sksoftmax._problem`) calls it with the fit's weight sum and hands the
L2 part down to the objective.
"""

import dataclasses

import numpy as np

_TINY = 1.0 / np.finfo(np.float64).max


@dataclasses.dataclass(frozen=True, eq=False)
class Penalty:
    """``C``, ``l1_ratio``, penalty factors and coefficient bounds of a fit.

    Build it with :meth:`from_params` (which validates); a path changes
    ``C`` or ``l1_ratio`` with :meth:`with_C`.

    Parameters
    ----------
    C : float
        Inverse regularization strength, positive; ``np.inf`` means no
        penalty.
    l1_ratio : float, default=0.0
        The L1 share, in ``[0, 1]``.
    penalty_factor : ndarray of shape (n_features,) or None, default=None
        Nonnegative finite factors of each column's penalty; None means ones.
    lower, upper : ndarray of shape (n_classes, n_features) or None
        Bounds on the coefficients, ``lower <= 0 <= upper``; None (both)
        means unbounded.
    """

    C: float
    l1_ratio: float = 0.0
    penalty_factor: np.ndarray = None
    lower: np.ndarray = None
    upper: np.ndarray = None

    @classmethod
    def from_params(cls, params, n_classes, n_features, **changes):
        """The validated penalty of an estimator's parameters.

        Parameters
        ----------
        params : object
            Has ``C``, ``penalty_factor``, ``coef_bounds``, ``positive`` and
            (optionally) ``l1_ratio`` attributes: a
            :class:`~sksoftmax.SoftmaxClassifier` or
            :class:`~sksoftmax.SoftmaxClassifierCV`.
        n_classes, n_features : int
            Shape of ``coef_``.
        **changes
            ``C`` or ``l1_ratio`` overriding the parameters.

        Returns
        -------
        penalty : Penalty

        Raises
        ------
        ValueError
            Naming the parameter, for wrong shapes, negative or non-finite
            factors, bounds that exclude zero or cross.
        """
        pf = _check_factor(params.penalty_factor, n_features)
        lower, upper = _check_bounds(params.coef_bounds, params.positive,
                                     n_classes, n_features)
        values = {"C": getattr(params, "C", np.inf),
                  "l1_ratio": getattr(params, "l1_ratio", 0.0), **changes}
        return cls(float(values["C"]), float(values["l1_ratio"]), pf, lower,
                   upper)

    @property
    def bounded(self):
        """Whether any coefficient is bounded."""
        return self.lower is not None

    def with_C(self, C, l1_ratio=None):
        """The same penalty at another ``C`` (and ``l1_ratio``)."""
        return dataclasses.replace(
            self, C=float(C),
            l1_ratio=self.l1_ratio if l1_ratio is None else float(l1_ratio))

    def for_classes(self, present):
        """The penalty of a fit on the classes ``present`` (a mask) only."""
        if not self.bounded or present.all():
            return self
        lower, upper = _unbounded_as_none(self.lower[present],
                                          self.upper[present])
        return dataclasses.replace(self, lower=lower, upper=upper)

    def for_columns(self, columns):
        """The penalty of a fit on the ``columns`` (indices, in order) only."""
        pf = None if self.penalty_factor is None else self.penalty_factor[columns]
        lower = upper = None
        if self.bounded:
            lower, upper = _unbounded_as_none(self.lower[:, columns],
                                              self.upper[:, columns])
        return dataclasses.replace(self, penalty_factor=pf, lower=lower,
                                   upper=upper)

    def strength(self, weight_sum, weight_scale=1.0):
        """The total strength ``1 / (C S)`` in the units of the fit's weights.

        ``weight_sum`` is ``S``, the sum of the weights the objective uses;
        ``weight_scale`` the power of two by which
        :func:`~sksoftmax._targets.fit_weights` divided the user's weights:
        ``C`` counts in the user's units, so it is multiplied by it (exactly).
        Zero for ``C = inf`` (and for a product ``C * weight_scale`` that
        overflows: a penalty below float64 resolution); a ValueError when the
        strength overflows float64.
        """
        # Python floats: a product that overflows or underflows warns nothing.
        C, weight_sum = float(self.C) * float(weight_scale), float(weight_sum)
        if weight_sum * C < _TINY:
            raise ValueError(
                f"C={self.C!r} is too small for these sample weights: the "
                "penalty strength 1 / (C * sum(sample_weight)) overflows "
                "float64. Use a larger C."
            )
        if np.isinf(C):
            return 0.0
        return _rounded_as_before(1.0 / (C * weight_sum), weight_sum)


def _rounded_as_before(strength, weight_sum):
    """``strength`` rounded as earlier versions of the fit rounded it.

    Earlier versions computed ``1 / (C S)``, took ``C`` back from it and
    computed the strength again; for about one ``(C, S)`` in ten (the breast
    cancer data at ``C=1``) that moves it by one ulp, and L-BFGS, stopped at
    ``tol``, turns one ulp into differences up to ``1e-3`` in ``coef_``. Kept
    so that fits stay bit-identical; removing it changes no optimum.
    """
    if not strength:
        return 0.0
    C = 1.0 / (strength * weight_sum)
    return 0.0 if np.isinf(C) else 1.0 / (C * weight_sum)


def _check_factor(penalty_factor, n_features):
    if penalty_factor is None:
        return None
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
    return pf


def _check_bounds(coef_bounds, positive, n_classes, n_features):
    """``(lower, upper)`` arrays of ``coef_bounds`` and ``positive``, or Nones."""
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
    if lower is None:
        return None, None
    return _unbounded_as_none(lower, upper)


def _unbounded_as_none(lower, upper):
    if np.all(lower == -np.inf) and np.all(upper == np.inf):
        return None, None
    return lower, upper


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
