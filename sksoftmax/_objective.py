"""The objective over the whole data set, in conditioned coordinates.

The objective is scikit-learn's ``LogisticRegression(solver="lbfgs")`` one::

    f(W, b) = sum_i s_i CE_i / S + ||W||_F^2 / (2 C S),    S = sum_i s_i

with the intercept ``b`` unpenalized. L-BFGS, however, does not see ``(W, b)``:
it sees ``theta = (V, c)`` with

    W = V / sigma          b = c - W @ mu

where ``mu`` and ``sigma`` are the (weighted) column means and standard
deviations of ``X``. So ``X @ W.T + b = ((X - mu) / sigma) @ V.T + c``: the
solver works on centred, unit-variance features, and the objective (penalty
included, written in ``W``) is unchanged, hence so is its optimum. ``X - mu`` is
never formed: the kernel runs on the raw ``X`` with ``(W, b)`` and the gradient
is mapped back by the chain rule::

    grad_V = (grad_W - outer(grad_b, mu)) / sigma        grad_c = grad_b

The flat parameter vector is ``theta.reshape(K, d + 1)`` with the intercept in
the last column (``(K, d)`` without intercept).
"""

import numpy as np
import scipy.sparse as sp

from sksoftmax._loss import block_loss_grad

# Rows per block: keeps the (rows, K) logits and the kernel's temporaries
# around 8 MB (float64), so they stay cache friendly and memory beyond X is
# bounded however many rows there are.
_BLOCK_ELEMENTS = 2**20


def column_scaling(X, sample_weight, fit_intercept):
    """Weighted centre and scale of each column, for conditioning.

    Parameters
    ----------
    X : ndarray or scipy sparse matrix of shape (n_samples, n_features)
        Training data.
    sample_weight : ndarray of shape (n_samples,)
        Nonnegative weights with a positive sum.
    fit_intercept : bool
        With an intercept the columns are centred at their weighted mean and
        scaled by their standard deviation; without one they cannot be
        centred (the intercept would absorb the shift), so ``mu = 0`` and
        ``sigma`` is the root mean square.

    Returns
    -------
    mu : ndarray of shape (n_features,)
        Column centres (float64).
    sigma : ndarray of shape (n_features,)
        Positive, finite column scales (float64); 1 for constant columns.
    """
    w = np.asarray(sample_weight, dtype=np.float64) / np.sum(sample_weight)
    # Divide by each column's largest magnitude first so that squares of values
    # up to 1e300 do not overflow.
    if sp.issparse(X):
        amax = np.asarray(abs(X).max(axis=0).toarray()).ravel()
    elif X.shape[0]:
        # Two reductions down the columns: no |X| temporary the size of X.
        amax = np.maximum(np.abs(X.max(axis=0)), np.abs(X.min(axis=0)))
    else:
        amax = np.zeros(X.shape[1])
    amax = np.where(amax > 0, amax, 1.0).astype(np.float64)
    mean = np.zeros(X.shape[1])
    sq = np.zeros(X.shape[1])
    if sp.issparse(X):
        Xs = X.astype(np.float64) @ sp.diags(1.0 / amax)
        mean = np.asarray(Xs.T @ w).ravel()
        sq = np.asarray(Xs.multiply(Xs).T @ w).ravel()
        var = np.maximum(sq - mean**2, 0.0) if fit_intercept else sq
    else:
        # Moderate magnitudes (the usual case) need no division by amax: one
        # pass and one block-sized temporary fewer.
        scale = amax if np.any((amax > 1e100) | (amax < 1e-100)) else None
        for rows in row_blocks(X.shape[0], X.shape[1]):
            block = X[rows] if scale is None else X[rows] / scale
            mean += w[rows] @ block
        center = mean if fit_intercept else np.zeros_like(mean)
        for rows in row_blocks(X.shape[0], X.shape[1]):
            block = np.subtract(X[rows] if scale is None else X[rows] / scale,
                                center)
            sq += w[rows] @ np.square(block, out=block)
        var = sq
        if scale is None:
            mean, var = mean / amax, var / amax**2
    return scaling_from_moments(mean, var, amax, fit_intercept)


def scaling_from_moments(mean, var, amax, fit_intercept):
    """``(mu, sigma)`` from column moments of ``X / amax``; shared by backends.

    Parameters
    ----------
    mean, var : ndarray of shape (n_features,)
        Weighted mean and variance (about the mean with an intercept, about
        zero without) of each column divided by ``amax``.
    amax : ndarray of shape (n_features,)
        Positive magnitude of each column.
    fit_intercept : bool
        Without an intercept the columns are not centred (``mu = 0``).

    Returns
    -------
    mu, sigma : ndarray of shape (n_features,)
        As :func:`column_scaling`.
    """
    mu = mean * amax if fit_intercept else np.zeros_like(mean)
    sigma = np.sqrt(var) * amax
    # Constant (or all-zero) columns carry no information. Scale them by their
    # magnitude: with an intercept their gradient is a difference of two
    # products of that size, and dividing by it keeps the rounding noise of a
    # 1e300 column at 1e-16 instead of overflowing.
    constant = ~(sigma > 1e-12 * amax) | ~np.isfinite(sigma)
    sigma[constant] = amax[constant]
    return mu, sigma


# The data term's curvature along a centred, unit-variance column is
# p (1 - p) <= 1/4 per class at the start, and far less near the optimum of a
# well-fitted model; in those units the penalty adds l2 / sigma**2. 0.02 was
# chosen on benchmarks/bench_lbfgs.py: iterations to a 1e-5 gap went from
# about 1,000 to 160 on raw digits, 600 to 190 on sparse counts (0.25 halves
# them; 0.003 starts to slow the unscaled problem).
_DATA_CURVATURE = 0.02


def solver_scale(sigma, l2_reg_strength):
    """Scale of each column in the coordinates L-BFGS sees.

    Dividing by ``sigma`` alone equalizes the data term, but the penalty
    ``l2 ||W||^2 / 2`` then has curvature ``l2 / sigma_j**2``: huge for
    columns that are almost constant (the rarely lit pixels of digits, rare
    words in sparse counts), and L-BFGS crawls along them. Scaling by
    ``sqrt(sigma**2 + l2 / a)`` instead, with ``a`` the data curvature per
    unit variance, equalizes the diagonal of the whole Hessian. The optimum is
    unchanged: this only moves the coordinates.

    Parameters
    ----------
    sigma : ndarray of shape (n_features,)
        Column scales from :func:`column_scaling`.
    l2_reg_strength : float or ndarray of shape (n_features,)
        ``1 / (C S)``, or per column (times the penalty factors); zero without
        penalty.

    Returns
    -------
    scale : ndarray of shape (n_features,)
        Positive, finite scales, at least ``sigma``.
    """
    if not np.any(l2_reg_strength):
        return sigma
    # hypot: no overflow for columns of size 1e300.
    return np.hypot(sigma, np.sqrt(l2_reg_strength / _DATA_CURVATURE))


def row_blocks(n_rows, n_cols, n_classes=1):
    """Slices that cover ``range(n_rows)`` in blocks of bounded size.

    Parameters
    ----------
    n_rows : int
        Number of rows.
    n_cols : int
        Number of columns of the arrays processed per block.
    n_classes : int, default=1
        Number of classes (width of the per-block logits).

    Returns
    -------
    blocks : list of slice
        Consecutive row slices.
    """
    step = max(1, _BLOCK_ELEMENTS // max(n_cols, n_classes, 1))
    return [slice(start, min(start + step, n_rows))
            for start in range(0, n_rows, step)] or [slice(0, 0)]


class SoftmaxObjective:
    """Penalized mean cross-entropy and its gradient, for ``jac=True`` solvers.

    Parameters
    ----------
    X : ndarray or scipy sparse matrix of shape (n_samples, n_features)
        Training data (float64 or float32; the kernel runs in this dtype).
    targets : ndarray of shape (n_samples,) or (n_samples, n_classes)
        Integer class codes or target probabilities.
    sample_weight : ndarray of shape (n_samples,)
        Nonnegative weights ``s_i`` (sample weight times class weight; zero
        for ignored samples).
    n_classes : int
        Number of classes ``K``.
    C : float
        Inverse regularization strength; ``np.inf`` means no penalty.
    fit_intercept : bool
        Whether the last column of the parameters is an intercept.
    label_smoothing : float, default=0.0
        Smoothing applied to integer targets inside the kernel.
    mu, sigma : ndarray of shape (n_features,) or None
        Conditioning (see the module docstring); None means no conditioning.

    Attributes
    ----------
    l2_reg_strength : float
        ``1 / (C S)``: the L2 penalty is
        ``l2_reg_strength * sum_j penalty_factor_j ||W[:, j]||^2 / 2``.
    penalty_factor : ndarray of shape (n_features,) or None
        Per-column factors of the L2 penalty; None means all ones.
    column_sigma : ndarray of shape (n_features,) or None
        The column scales given as ``sigma``, kept so that
        :meth:`set_penalty` can recompute the solver scale.
    sigma : ndarray of shape (n_features,)
        The solver scale of each column (:func:`solver_scale`).
    """

    penalty_factor = None
    column_sigma = None

    def __init__(self, X, targets, sample_weight, n_classes, C, fit_intercept,
                 label_smoothing=0.0, mu=None, sigma=None):
        n_features = X.shape[1]
        self.X = X
        # Probability targets enter products with the logits: match X's dtype.
        self.targets = targets.astype(X.dtype) if targets.ndim == 2 else targets
        self.sample_weight = np.asarray(sample_weight, dtype=X.dtype)
        self.n_classes = n_classes
        self.fit_intercept = fit_intercept
        self.label_smoothing = label_smoothing
        self.weight_sum = float(np.sum(sample_weight, dtype=np.float64))
        self.l2_reg_strength = 0.0 if np.isinf(C) else 1.0 / (C * self.weight_sum)
        self.mu = np.zeros(n_features) if mu is None else mu
        self.sigma = np.ones(n_features) if sigma is None else sigma
        if sigma is not None:
            self.column_sigma = sigma
            self.sigma = solver_scale(self.sigma, self.l2_reg_strength)
        if sp.issparse(X):
            self.blocks = [slice(0, X.shape[0])]
        else:
            self.blocks = row_blocks(X.shape[0], n_features, n_classes)
        self.n_evaluations = 0

    @property
    def n_features(self):
        """Number of features ``d``."""
        return len(self.sigma)

    @property
    def n_params(self):
        """Length of the flat parameter vector ``theta``."""
        return self.n_classes * (self.n_features + self.fit_intercept)

    def set_penalty(self, l2_reg_strength, penalty_factor=None):
        """Change the L2 penalty; the conditioning follows it.

        Cheap (vectors of length ``n_features``): the data and its column
        statistics are kept. Parameters mapped by :meth:`from_original`
        before the change must be mapped again after it, as the solver scale
        depends on the penalty.

        Parameters
        ----------
        l2_reg_strength : float
            New ``1 / (C S)`` of the L2 part (zero for none).
        penalty_factor : ndarray of shape (n_features,), default=None
            Nonnegative per-column factors; None means all ones.
        """
        self.l2_reg_strength = float(l2_reg_strength)
        self.penalty_factor = penalty_factor
        if self.column_sigma is not None:
            per_column = (self.l2_reg_strength if penalty_factor is None
                          else self.l2_reg_strength * penalty_factor)
            self.sigma = solver_scale(self.column_sigma, per_column)

    def to_original(self, theta):
        """Map ``theta`` to ``(coef, intercept)`` of the original features.

        Parameters
        ----------
        theta : ndarray of shape (n_params,)
            Conditioned parameters.

        Returns
        -------
        coef : ndarray of shape (n_classes, n_features)
        intercept : ndarray of shape (n_classes,)
            Zeros without intercept.
        """
        theta = theta.reshape(self.n_classes, -1)
        if self.fit_intercept:
            coef = theta[:, :-1] / self.sigma
            intercept = theta[:, -1] - coef @ self.mu
        else:
            coef = theta / self.sigma
            intercept = np.zeros(self.n_classes)
        return coef, intercept

    def from_original(self, coef, intercept):
        """Inverse of :meth:`to_original`: ``theta`` for given ``(coef, b)``.

        Parameters
        ----------
        coef : ndarray of shape (n_classes, n_features)
        intercept : ndarray of shape (n_classes,)

        Returns
        -------
        theta : ndarray of shape (n_params,)
        """
        coef = np.asarray(coef, dtype=np.float64)
        V = coef * self.sigma
        if not self.fit_intercept:
            return V.ravel()
        c = np.asarray(intercept, dtype=np.float64) + coef @ self.mu
        return np.hstack([V, c[:, None]]).ravel()

    def loss_grad(self, theta):
        """Objective value and gradient with respect to ``theta``.

        Parameters
        ----------
        theta : ndarray of shape (n_params,)
            Conditioned parameters (float64).

        Returns
        -------
        loss : float
            ``f(W, b)`` for the corresponding original parameters.
        grad : ndarray of shape (n_params,)
            Gradient with respect to ``theta`` (float64).
        """
        self.n_evaluations += 1
        coef, intercept = self.to_original(theta)
        dtype = self.X.dtype
        coef_x = coef.astype(dtype, copy=False)
        intercept_x = intercept.astype(dtype) if self.fit_intercept else None
        loss = 0.0
        grad_coef = np.zeros(coef.shape)
        grad_intercept = np.zeros(self.n_classes)
        for rows in self.blocks:
            # A sparse matrix sliced by rows is a copy: pass the whole of it.
            whole = rows == slice(0, self.X.shape[0])
            block_loss, g_coef, g_intercept = block_loss_grad(
                self.X if whole else self.X[rows], self.targets[rows],
                self.sample_weight[rows], coef_x, intercept_x,
                label_smoothing=self.label_smoothing,
            )
            loss += block_loss
            grad_coef += g_coef
            grad_intercept += g_intercept
        return self.finish(loss, grad_coef, grad_intercept, coef)

    def finish(self, loss_sum, grad_coef, grad_intercept, coef):
        """Normalize the summed kernel outputs, add the penalty, map to theta.

        Shared by every backend: they differ only in how the sums are formed.

        Parameters
        ----------
        loss_sum : float
            ``sum_i s_i CE_i`` over all rows.
        grad_coef : ndarray of shape (n_classes, n_features)
            Summed ``R.T @ X``.
        grad_intercept : ndarray of shape (n_classes,)
            Summed ``R.sum(axis=0)``.
        coef : ndarray of shape (n_classes, n_features)
            Original-space coefficients at which the sums were computed.

        Returns
        -------
        loss : float
        grad : ndarray of shape (n_params,)
        """
        S = self.weight_sum
        grad_coef = np.asarray(grad_coef, dtype=np.float64) / S
        grad_intercept = np.asarray(grad_intercept, dtype=np.float64) / S
        loss = loss_sum / S
        if self.l2_reg_strength and self.penalty_factor is None:
            loss += 0.5 * self.l2_reg_strength * float(np.vdot(coef, coef))
            grad_coef += self.l2_reg_strength * coef
        elif self.l2_reg_strength:
            weighted = (self.l2_reg_strength * self.penalty_factor) * coef
            loss += 0.5 * float(np.vdot(weighted, coef))
            grad_coef += weighted
        if self.fit_intercept:
            grad_V = (grad_coef - np.outer(grad_intercept, self.mu)) / self.sigma
            grad = np.hstack([grad_V, grad_intercept[:, None]])
        else:
            grad = grad_coef / self.sigma
        return loss, grad.ravel()
