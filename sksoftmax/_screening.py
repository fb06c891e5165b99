"""Sequential strong rules for the L1 fits of a path (Tibshirani et al., 2012).

Along a path of decreasing L1 strength ``lambda``, a column whose
coefficients are all zero at ``lambda_prev`` and whose data gradient there is
small is predicted to stay zero at the next ``lambda``: the strong rule
discards column ``j`` when, for every class ``k``,

    |g_kj(lambda_prev)| < (2 lambda - lambda_prev) * pf_j,

with ``g`` the gradient of the mean data term at the previous solution and
``pf`` the penalty factor (only the directions the coefficient bounds allow
count). The next fit then runs on the surviving columns alone, its every
evaluation costing a product with fewer columns. The rule can be wrong, so
the KKT conditions of the discarded columns are checked afterwards with the
full gradient (``|g_kj| <= lambda pf_j``); violators join and the fit is
repeated from where it stopped. The final solution is the one of the full
problem.
"""

import numpy as np

from sksoftmax._objective import SoftmaxObjective


def steepest_descent(grad, lower=None, upper=None, penalty_factor=None):
    """Per entry: how fast the data term falls leaving zero, over the factor.

    Parameters
    ----------
    grad : ndarray of shape (n_classes, n_features)
        Gradient of the mean data term at a point.
    lower, upper : ndarray of shape (n_classes, n_features) or None
        Coefficient bounds; a direction they block does not count.
    penalty_factor : ndarray of shape (n_features,) or None
        Per-column factors; an unpenalized column gets ``inf``.

    Returns
    -------
    rate : ndarray of shape (n_classes, n_features)
        ``max(-g, g, 0)`` over the allowed directions, divided by the factor:
        an entry at zero violates the KKT conditions at L1 strength
        ``lambda`` exactly when ``rate > lambda``.
    """
    up = -grad if upper is None else np.where(upper > 0, -grad, 0.0)
    down = grad if lower is None else np.where(lower < 0, grad, 0.0)
    rate = np.maximum(np.maximum(up, down), 0.0)
    if penalty_factor is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.where(penalty_factor > 0, rate / penalty_factor, np.inf)
    return rate


class StrongRule:
    """The columns to fit at each ``lambda`` of one path, and the KKT check.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
        The path's training data.
    targets : Targets
        Its targets (the classes fitted).
    weights : ndarray of shape (n_samples,)
        Sample weights of the fit.
    fit_intercept : bool
    penalty_factor : ndarray of shape (n_features,) or None
    lower, upper : ndarray of shape (n_classes, n_features) or None
    """

    def __init__(self, X, targets, weights, fit_intercept, penalty_factor=None,
                 lower=None, upper=None):
        # The data term alone, in the original coordinates (no conditioning).
        self.objective = SoftmaxObjective(
            X, targets.values, weights, targets.n_classes, np.inf,
            fit_intercept, label_smoothing=targets.kernel_smoothing)
        self.penalty_factor, self.lower, self.upper = penalty_factor, lower, upper
        self.n_features = X.shape[1]
        self.rate = None  # at the last solution
        self.lam = None   # the L1 strength of the last solution

    def rates(self, coef, intercept):
        """Per column, the largest :func:`steepest_descent` rate over classes."""
        objective = self.objective
        _, grad = objective.loss_grad(objective.from_original(coef, intercept))
        grad = grad.reshape(objective.n_classes, -1)[:, :self.n_features]
        return steepest_descent(grad, self.lower, self.upper,
                                self.penalty_factor).max(axis=0)

    def columns(self, lam, coef, intercept):
        """The columns kept at L1 strength ``lam``, given the last solution.

        ``coef, intercept`` is the last solution of the path (or its start,
        all zeros, before the first fit); every column it has nonzero, and
        every one the strong rule cannot discard, is kept.
        """
        if self.rate is None:
            self.rate = self.rates(coef, intercept)
            self.lam = max(lam, float(np.max(self.rate, initial=0.0)))
        threshold = 2.0 * lam - self.lam
        return np.flatnonzero(np.any(coef != 0, axis=0)
                              | (self.rate >= threshold))

    def violators(self, lam, coef, intercept, columns):
        """Columns outside ``columns`` that violate the KKT conditions.

        ``coef`` is the full-width solution of the fit on ``columns``; the
        gradient it needs is kept for the next ``lambda``'s rule.
        """
        self.rate, self.lam = self.rates(coef, intercept), lam
        out = np.ones(self.n_features, dtype=bool)
        out[columns] = False
        return np.flatnonzero(out & (self.rate > lam))
