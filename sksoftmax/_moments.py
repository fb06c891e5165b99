"""Weighted column moments: one block formula and one merge, in any namespace.

Conditioning (:func:`sksoftmax._objective.column_scaling`), the start of a
path's grid and every backend (row blocks on the executor's threads, Dask
chunks, device arrays) describe the columns of ``X`` by their weighted
mean and variance. Each part of the data gives its :func:`block_moments`,
and the parts are combined in a fixed order by :func:`merge`, Chan, Golub and
LeVeque's pairwise update::

    W = W_a + W_b      delta = m_b - m_a      m = m_a + delta W_b / W
    M2 = M2_a + M2_b + delta**2 W_a W_b / W

which, unlike ``sum(w x**2) - W m**2``, loses no digits to cancellation when
a column's mean is large against its spread. Sparse matrices, whose centred
columns would be dense, are the exception: :func:`sparse_moments` sums the
raw moments of the columns divided by their largest magnitude.
"""

from typing import NamedTuple

import numpy as np


class Moments(NamedTuple):
    """Moments of the columns of a set of rows.

    Attributes
    ----------
    weight : float
        Total weight ``W`` of the rows.
    mean : array of shape (n_features,)
        Weighted mean of each column (zeros when ``weight`` is 0).
    m2 : array of shape (n_features,)
        Weighted sum of squared deviations from ``mean``.
    amax : array of shape (n_features,)
        Largest magnitude of each column, whatever the weights.
    """

    weight: float
    mean: object
    m2: object
    amax: object


def block_moments(block, w, xp=np):
    """The :class:`Moments` of one dense block of rows.

    Parameters
    ----------
    block : array of shape (n_rows, n_features)
        At least one row, in the dtype the sums should run in.
    w : array of shape (n_rows,)
        Nonnegative weights, same namespace and dtype.
    xp : module, default=numpy
        Array namespace of ``block``.

    Returns
    -------
    moments : Moments
    """
    amax = xp.maximum(xp.abs(xp.max(block, axis=0)), xp.abs(xp.min(block, axis=0)))
    weight = float(xp.sum(w))
    if weight <= 0:
        return Moments(0.0, xp.zeros_like(amax), xp.zeros_like(amax), amax)
    mean = (w @ block) / weight
    if xp is np:  # the deviations overwrite one temporary
        dev = np.subtract(block, mean)
        return Moments(weight, mean, w @ np.square(dev, out=dev), amax)
    dev = block - mean
    return Moments(weight, mean, w @ (dev * dev), amax)


def merge(a, b, xp=np):
    """Chan, Golub and LeVeque's update: the :class:`Moments` of two parts.

    Parameters
    ----------
    a : Moments or None
        The first part (None: nothing yet).
    b : Moments
        The second part.
    xp : module, default=numpy
        Array namespace of the moments.

    Returns
    -------
    moments : Moments
    """
    if a is None:
        return b
    amax = xp.maximum(a.amax, b.amax)
    if b.weight <= 0:
        return a._replace(amax=amax)
    if a.weight <= 0:
        return b._replace(amax=amax)
    weight = a.weight + b.weight
    delta = b.mean - a.mean
    mean = a.mean + delta * (b.weight / weight)
    m2 = a.m2 + b.m2 + delta**2 * (a.weight * b.weight / weight)
    return Moments(weight, mean, m2, amax)


def merge_all(parts, xp=np):
    """:func:`merge` a sequence of :class:`Moments` in its order."""
    total = None
    for part in parts:
        total = merge(total, part, xp)
    return total


def mean_and_variance(moments, fit_intercept, xp=np):
    """Weighted mean and variance of each column from its :class:`Moments`.

    Parameters
    ----------
    moments : Moments
        The merged moments of all rows.
    fit_intercept : bool
        With an intercept the variance is about the mean; without one it is
        the second moment about zero (the columns are not centred).
    xp : module, default=numpy
        Array namespace of the moments.

    Returns
    -------
    mean, var : array of shape (n_features,)
    """
    weight, mean, m2, _ = moments
    var = m2 / weight if weight > 0 else xp.zeros_like(m2)
    if not fit_intercept:
        var = var + mean**2
    return mean, var


def sparse_moments(X, w, fit_intercept):
    """``(amax, mean, var)`` of ``X / amax`` for a CSR or CSC matrix.

    One pass over the stored values for the magnitudes, one for the sums of
    the scaled values and of their squares.

    Parameters
    ----------
    X : scipy sparse matrix of shape (n_samples, n_features)
        CSR or CSC.
    w : ndarray of shape (n_samples,)
        Nonnegative weights that sum to one.
    fit_intercept : bool
        As :func:`mean_and_variance`.

    Returns
    -------
    amax, mean, var : ndarray of shape (n_features,)
        float64.
    """
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    d = X.shape[1]
    values = X.data.astype(np.float64, copy=False)
    if X.format == "csr":
        cols, row_weights = X.indices, np.repeat(w, np.diff(X.indptr))
    else:
        cols, row_weights = np.repeat(np.arange(d), np.diff(X.indptr)), w[X.indices]
    amax = np.zeros(d)
    np.maximum.at(amax, cols, np.abs(values))
    scaled = values / np.where(amax > 0, amax, 1.0)[cols]
    weighted = scaled * row_weights
    mean = np.bincount(cols, weights=weighted, minlength=d)
    sq = np.bincount(cols, weights=weighted * scaled, minlength=d)
    var = np.maximum(sq - mean**2, 0.0) if fit_intercept else sq
    return amax, mean, var


def scaling_from_moments(mean, var, amax, fit_intercept):
    """Column centres and scales for conditioning, from moments of ``X / amax``.

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
    mu : ndarray of shape (n_features,)
        Column centres (float64).
    sigma : ndarray of shape (n_features,)
        Positive, finite column scales (float64); the magnitude for constant
        columns.
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
