"""The benchmarks' problems and their yardstick, defined once.

Every benchmark builds its data with the generators here (nothing is
downloaded) and compares fitted models with :func:`objective`, the
estimators' own objective (``sksoftmax._problem.objective_function``; for
three or more classes it equals ``LogisticRegression``'s, for two it reads
scikit-learn's one-row binary coefficients as the two-vector softmax).

Import it from a benchmark script run from the repository root
(``python benchmarks/bench_x.py``): the script's folder is on ``sys.path``.
"""

import sys
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.special import logsumexp
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

# The repository's sksoftmax, not an installed one.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sksoftmax._problem import objective_function


def objective(X, y, C=1.0, l1_ratio=0.0):
    """``value(coef, intercept)``: the objective of every model on ``(X, y)``.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
        Training data (evaluated in float64).
    y : ndarray of shape (n_samples,)
        Labels.
    C : float, default=1.0
        Inverse regularization strength.
    l1_ratio : float, default=0.0
        L1 share of the penalty.

    Returns
    -------
    value : callable
        ``value(coef, intercept) -> float``; accepts sparse and one-row
        (binary LogisticRegression) coefficients.
    """
    return objective_function(X, y, C, l1_ratio)


def timed_fit(make, X, y):
    """``(model, seconds, warned)``: ``make().fit(X, y)`` timed, and whether
    it raised a ConvergenceWarning."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        start = time.perf_counter()
        model = make().fit(X, y)
        elapsed = time.perf_counter() - start
    warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return model, elapsed, warned


def _sample_labels(rng, logits):
    """Draw one label per row from softmax(logits) (Gumbel-max trick)."""
    return np.argmax(logits + rng.gumbel(size=logits.shape), axis=1)


def dense(n, d, k, seed=0, dtype=np.float64):
    """Well-scaled Gaussian features, labels drawn from a softmax model."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    W = rng.standard_normal((k, d)) * (2.0 / np.sqrt(d))
    y = _sample_labels(rng, X @ W.T)
    return X.astype(dtype), y


def unscaled(n, d, k, seed=1):
    """Gaussian features, then columns scaled by 1e-2..1e2 and shifted."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, d))
    W = rng.standard_normal((k, d)) * (2.0 / np.sqrt(d))
    y = _sample_labels(rng, Z @ W.T)
    scale = rng.permutation(np.logspace(-2, 2, d))
    shift = scale * rng.uniform(-10, 10, d)
    return Z * scale + shift, y


def sparse_counts(n, d, k, seed=2, words_per_row=40):
    """Bag-of-words counts with power-law (Zipf) column frequencies, CSR."""
    rng = np.random.default_rng(seed)
    freq = 1.0 / np.arange(1, d + 1) ** 1.1
    freq /= freq.sum()
    lengths = rng.poisson(words_per_row, n) + 1
    rows = np.repeat(np.arange(n), lengths)
    cols = rng.choice(d, size=lengths.sum(), p=freq)
    X = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, d))
    X.sum_duplicates()
    W = rng.standard_normal((k, d)) * 0.5
    y = _sample_labels(rng, X @ W.T)
    return X, y


def digits():
    """scikit-learn's digits, raw pixel values 0..16 (bundled, no download)."""
    X, y = load_digits(return_X_y=True)
    return X, y


def two_decades(n_samples, n_features, n_classes, seed=0):
    """Gaussian features two decades apart in scale, labels from a softmax.

    Returns
    -------
    X, y, X_test, y_test
        ``n_samples`` training rows and ``n_samples // 5`` test rows.
    """
    rng = np.random.default_rng(seed)
    n = n_samples + n_samples // 5
    X = rng.standard_normal((n, n_features))
    W = rng.standard_normal((n_classes, n_features)) / np.sqrt(n_features)
    logits = 3.0 * X @ W.T
    p = np.exp(logits - logsumexp(logits, axis=1, keepdims=True))
    y = (p.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    X *= np.logspace(-1, 1, n_features)  # columns two decades apart
    return X[:n_samples], y[:n_samples], X[n_samples:], y[n_samples:]


def problems(quick):
    """Name -> (description, builder) of the L-BFGS benchmark's six problems."""
    f = 10 if quick else 1
    return {
        "dense": (f"{100_000 // f:,} x 100 dense, 10 classes",
                  lambda: dense(100_000 // f, 100, 10)),
        "dense32": (f"{100_000 // f:,} x 100 dense float32, 10 classes",
                    lambda: dense(100_000 // f, 100, 10, dtype=np.float32)),
        "classes100": (f"{20_000 // f:,} x 200, 100 classes",
                       lambda: dense(20_000 // f, 200, 100, seed=3)),
        "unscaled": (f"{20_000 // f:,} x 50 unscaled, 5 classes",
                     lambda: unscaled(20_000 // f, 50, 5)),
        "sparse": (f"sparse counts {20_000 // f:,} x {10_000 // f:,}, 20 classes",
                   lambda: sparse_counts(20_000 // f, 10_000 // f, 20)),
        "digits": ("digits, raw pixels, 1,797 x 64", digits),
    }
