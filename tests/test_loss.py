"""The block kernel against a naive NumPy reference and in extreme regimes."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose

from sksoftmax._loss import block_loss_grad, log_softmax, logsumexp_rows, softmax


def naive_loss_grad(X, T, s, W, b):
    """Textbook formulas in float64 (with the max shift, for large logits)."""
    X = X.toarray() if sp.issparse(X) else np.asarray(X)
    X = X.astype(np.float64)
    Z = X @ W.astype(np.float64).T
    if b is not None:
        Z = Z + b
    zmax = Z.max(axis=1, keepdims=True)
    lse = np.log(np.exp(Z - zmax).sum(axis=1)) + zmax[:, 0]
    ce = lse - (T * Z).sum(axis=1)
    P = np.exp(Z - lse[:, None])
    R = s[:, None] * (P - T)
    return float(s @ ce), R.T @ X, R.sum(axis=0)


def make_block(n=40, d=5, k=4, dtype=np.float64, scale=1.0, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    W = (scale * rng.standard_normal((k, d))).astype(dtype)
    b = rng.standard_normal(k).astype(dtype)
    y = rng.integers(0, k, n)
    s = rng.uniform(0, 2, n).astype(dtype)
    s[:3] = 0.0  # zero-weight rows contribute nothing
    return X, y, s, W, b


def tolerances(dtype):
    return {"rtol": 2e-5, "atol": 1e-4} if dtype == np.float32 else {
        "rtol": 1e-10, "atol": 1e-10}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("intercept", [True, False])
def test_kernel_matches_naive_reference(dtype, smoothing, sparse, intercept):
    X, y, s, W, b = make_block(dtype=dtype)
    k = W.shape[0]
    T = (1 - smoothing) * np.eye(k)[y] + smoothing / k
    b = b if intercept else None
    Xb = sp.csr_matrix(X) if sparse else X
    expected = naive_loss_grad(X, T, s.astype(np.float64), W, b)
    # Soft targets in both memory orders: the objective keeps them
    # column-major (aligned with the class-major logits).
    T = T.astype(dtype)
    for targets, eps in ((y, smoothing), (T, 0.0), (np.asfortranarray(T), 0.0)):
        loss, g_coef, g_b = block_loss_grad(Xb, targets, s, W, b,
                                            label_smoothing=eps)
        assert isinstance(loss, float)
        assert g_coef.shape == W.shape and g_b.shape == (k,)
        assert g_coef.dtype == dtype
        tol = tolerances(dtype)
        assert_allclose(loss, expected[0], **tol)
        assert_allclose(g_coef, expected[1], **tol)
        assert_allclose(g_b, expected[2], **tol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("scale", [1e3, 1e5])
def test_kernel_stable_for_huge_logits(dtype, scale):
    # Logits in the thousands: no overflow, no NaN, and the naive (shifted)
    # reference in float64 is matched.
    X, y, s, W, b = make_block(dtype=dtype, scale=scale)
    T = np.eye(W.shape[0])[y]
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, g_coef, g_b = block_loss_grad(X, y, s, W, b)
    assert np.isfinite(loss) and np.all(np.isfinite(g_coef))
    expected = naive_loss_grad(X, T, s.astype(np.float64), W, b)
    assert_allclose(loss, expected[0], rtol=1e-5 if dtype == np.float32 else 1e-12)
    assert_allclose(g_b, expected[2], rtol=1e-4, atol=1e-4)


def test_kernel_mixed_shift_rows():
    # One row far out, one at moderate logits: the shift must be per row, or
    # the moderate row's exponentials underflow to an all-zero sum.
    X = np.array([[1.0], [1e4]])
    W = np.array([[1.0], [-1.0], [0.5]])
    y = np.array([0, 2])
    s = np.ones(2)
    loss, g_coef, g_b = block_loss_grad(X, y, s, W, None)
    expected = naive_loss_grad(X, np.eye(3)[y], s, W, None)
    assert_allclose(loss, expected[0], rtol=1e-12)
    assert_allclose(g_coef, expected[1], rtol=1e-12, atol=1e-12)
    assert_allclose(g_b, expected[2], rtol=1e-12, atol=1e-12)


def test_kernel_empty_block():
    X, y, s, W, b = make_block(n=0)
    loss, g_coef, g_b = block_loss_grad(X, y, s, W, b)
    assert loss == 0.0
    assert_allclose(g_coef, 0.0)
    assert_allclose(g_b, 0.0)


def test_kernel_generic_namespace_path():
    # A namespace other than NumPy itself takes the array-API-only code path.
    array_api_compat = pytest.importorskip("array_api_compat")
    xp = array_api_compat.array_namespace(np.zeros(1))
    assert xp is not np
    X, y, s, W, b = make_block()
    T = np.eye(W.shape[0])[y]
    got = block_loss_grad(X, T, s, W, b, xp=xp)
    expected = naive_loss_grad(X, T, s, W, b)
    for a, e in zip(got, expected, strict=True):
        assert_allclose(a, e, rtol=1e-10, atol=1e-10)


def test_softmax_helpers():
    Z = np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]])
    lse = logsumexp_rows(Z)
    assert_allclose(lse, [1000.0, 3 + np.log1p(np.exp(-1) + np.exp(-2))])
    P = softmax(Z)
    assert_allclose(P.sum(axis=1), 1.0)
    assert np.all(np.isfinite(log_softmax(Z)))
    assert_allclose(np.exp(log_softmax(Z)), P)
