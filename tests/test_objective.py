"""The whole-data objective: gradients, conditioning, scikit-learn's objective."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose
from sklearn._loss.loss import HalfMultinomialLoss
from sklearn.linear_model._linear_loss import LinearModelLoss

import sksoftmax._objective as objective_module
from sksoftmax._objective import (
    CurvatureProbe,
    NumpyRowSums,
    SoftmaxObjective,
    column_scaling,
    row_blocks,
)


def make_problem(n=60, d=4, k=3, *, sparse=False, weighted=False, soft=False,
                 dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    # Unscaled, shifted columns: conditioning has work to do.
    X = rng.standard_normal((n, d)) * np.logspace(-1, 1, d) + np.arange(d)
    if sparse:
        X[rng.random((n, d)) < 0.5] = 0.0
        X = sp.csr_matrix(X)
    X = X.astype(dtype)
    if soft:
        targets = rng.dirichlet(np.ones(k), n)
    else:
        targets = np.arange(n) % k
    weights = rng.uniform(0.1, 3.0, n) if weighted else np.ones(n)
    return X, targets, weights


def direct_objective(X, targets, weights, coef, intercept, C, smoothing=0.0):
    """f(W, b) from the definition, float64, no conditioning involved."""
    X = X.toarray() if sp.issparse(X) else np.asarray(X)
    X = X.astype(np.float64)
    k = coef.shape[0]
    T = np.eye(k)[targets] if targets.ndim == 1 else targets
    T = (1 - smoothing) * T + smoothing / k
    Z = X @ coef.T + intercept
    zmax = Z.max(axis=1, keepdims=True)
    lse = np.log(np.exp(Z - zmax).sum(axis=1)) + zmax[:, 0]
    S = weights.sum()
    penalty = 0.0 if np.isinf(C) else (coef**2).sum() / (2 * C * S)
    return float(weights @ (lse - (T * Z).sum(axis=1)) / S + penalty)


def central_differences(fun, x, step):
    out = np.empty_like(x)
    for i in range(len(x)):
        e = np.zeros_like(x)
        e[i] = step
        out[i] = (fun(x + e) - fun(x - e)) / (2 * step)
    return out


def build(X, targets, weights, *, C=1.0, fit_intercept=True, smoothing=0.0,
          conditioned=True):
    k = targets.shape[1] if targets.ndim == 2 else int(targets.max()) + 1
    mu = sigma = None
    if conditioned:
        mu, sigma = column_scaling(X, weights, fit_intercept)
    return SoftmaxObjective(X, targets, weights, k, C, fit_intercept,
                            label_smoothing=smoothing, mu=mu, sigma=sigma)


CASES = {
    "dense": {},
    "sparse": {"sparse": True},
    "weighted": {"weighted": True},
    "soft": {"soft": True},
    "float32": {"dtype": np.float32},
    "sparse-weighted-float32": {"sparse": True, "weighted": True,
                                "dtype": np.float32},
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("C", [0.5, np.inf])
def test_gradient_matches_finite_differences(case, fit_intercept, smoothing, C):
    X, targets, weights = make_problem(**CASES[case])
    if targets.ndim == 2 and smoothing:
        pytest.skip("smoothing of soft targets is applied before the objective")
    obj = build(X, targets, weights, C=C, fit_intercept=fit_intercept,
                smoothing=smoothing)
    theta = np.random.default_rng(1).standard_normal(obj.n_params) * 0.3
    _, grad = obj.loss_grad(theta)
    assert grad.dtype == np.float64 and grad.shape == (obj.n_params,)
    float32 = X.dtype == np.float32
    # float32 evaluations need a larger step (rounding noise ~1e-7 relative).
    numeric = central_differences(lambda t: obj.loss_grad(t)[0], theta,
                                  1e-2 if float32 else 1e-5)
    assert_allclose(grad, numeric, rtol=1e-2 if float32 else 1e-6,
                    atol=1e-3 if float32 else 1e-8)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_conditioning_leaves_objective_unchanged(case, fit_intercept, smoothing):
    X, targets, weights = make_problem(**CASES[case])
    obj = build(X, targets, weights, C=2.0, fit_intercept=fit_intercept,
                smoothing=0.0 if targets.ndim == 2 else smoothing)
    assert np.any(obj.sigma != 1.0)
    theta = np.random.default_rng(2).standard_normal(obj.n_params)
    coef, intercept = obj.to_original(theta)
    expected = direct_objective(X, targets, weights, coef, intercept, 2.0,
                                0.0 if targets.ndim == 2 else smoothing)
    rtol = 1e-5 if X.dtype == np.float32 else 1e-12
    assert_allclose(obj.loss_grad(theta)[0], expected, rtol=rtol)
    # The maps are inverse to each other.
    assert_allclose(obj.from_original(coef, intercept), theta, rtol=1e-12,
                    atol=1e-12)


def test_gradient_maps_by_chain_rule():
    # grad_theta = J^T grad_(W, b): compare with the unconditioned objective.
    X, targets, weights = make_problem(weighted=True)
    cond = build(X, targets, weights)
    plain = build(X, targets, weights, conditioned=False)
    theta = np.random.default_rng(3).standard_normal(cond.n_params)
    coef, intercept = cond.to_original(theta)
    loss_c, grad_c = cond.loss_grad(theta)
    loss_p, grad_p = plain.loss_grad(plain.from_original(coef, intercept))
    assert_allclose(loss_c, loss_p, rtol=1e-13)
    G = grad_p.reshape(cond.n_classes, -1)
    gW, gb = G[:, :-1], G[:, -1]
    expected = np.hstack([(gW - np.outer(gb, cond.mu)) / cond.sigma, gb[:, None]])
    assert_allclose(grad_c, expected.ravel(), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("sparse", [False, True])
def test_objective_equals_scikit_learn(sparse):
    # With K >= 3 the objective is LogisticRegression's (LinearModelLoss with
    # l2_reg_strength = 1 / (C S)), value and gradient.
    X, targets, weights = make_problem(k=4, sparse=sparse, weighted=True)
    C = 0.7
    obj = build(X, targets, weights, C=C, conditioned=False)
    rng = np.random.default_rng(4)
    coef, intercept = rng.standard_normal((4, 4)), rng.standard_normal(4)
    loss, grad = obj.loss_grad(obj.from_original(coef, intercept))
    lml = LinearModelLoss(base_loss=HalfMultinomialLoss(n_classes=4),
                          fit_intercept=True)
    # scikit-learn normalizes the weights to sum to one before its loss.
    sw = weights / weights.sum()
    ref_loss, ref_grad = lml.loss_gradient(
        np.hstack([coef, intercept[:, None]]), X, targets.astype(np.float64), sw,
        l2_reg_strength=1.0 / (C * weights.sum()),
    )
    assert_allclose(loss, ref_loss, rtol=1e-12)
    assert_allclose(grad, ref_grad.ravel(), rtol=1e-10, atol=1e-12)


def test_blocks_cover_rows_and_sum_to_whole():
    X, targets, weights = make_problem(n=1000, weighted=True)
    obj = build(X, targets, weights)
    theta = np.random.default_rng(5).standard_normal(obj.n_params)
    expected = obj.loss_grad(theta)
    obj.row_sums.blocks = row_blocks(1000, 4000)  # 262 rows each: several blocks
    assert len(obj.row_sums.blocks) > 1
    covered = np.concatenate([np.arange(1000)[b] for b in obj.row_sums.blocks])
    assert_allclose(covered, np.arange(1000))
    got = obj.loss_grad(theta)
    assert_allclose(got[0], expected[0], rtol=1e-13)
    assert_allclose(got[1], expected[1], rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("sparse", [False, True])
def test_column_scaling_extreme_columns(sparse):
    rng = np.random.default_rng(6)
    n = 50
    X = np.column_stack([
        np.full(n, 7.0),                       # constant
        np.zeros(n),                           # all zero
        rng.standard_normal(n) * 1e200 + 3e200,  # squares overflow
        rng.standard_normal(n) * 1e-200,       # tiny
        rng.standard_normal(n) * 1e-2 + 1e3,   # shifted, small spread
    ])
    if sparse:
        X = sp.csr_matrix(X)
    w = rng.uniform(0.5, 1.5, n)
    mu, sigma = column_scaling(X, w, True)
    assert np.all(np.isfinite(mu)) and np.all(np.isfinite(sigma))
    assert np.all(sigma > 0)
    dense = X.toarray() if sparse else X
    wn = w / w.sum()
    for j in (2, 3, 4):
        mean = wn @ dense[:, j]
        std = np.sqrt(wn @ (dense[:, j] / abs(mean or 1) - mean / abs(mean or 1))
                      ** 2) * abs(mean or 1)
        assert_allclose(mu[j], mean, rtol=1e-10)
        assert_allclose(sigma[j], std, rtol=1e-6)


class _CountingArray(np.ndarray):
    """An array that counts the rows read through slicing."""

    rows_read = 0

    def __getitem__(self, key):
        if isinstance(key, slice):
            start, stop, _ = key.indices(self.shape[0])
            type(self).rows_read += max(0, stop - start)
        return np.asarray(super().__getitem__(key))


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("container", [np.asarray, sp.csr_matrix, sp.csc_matrix])
def test_column_scaling_one_pass_in_blocks(monkeypatch, container, fit_intercept):
    # Many blocks, merged pairwise: the moments of columns with a mean 1e9
    # times their spread (where sums of squares lose every digit) agree with
    # the two-pass formula in extended precision, and X is read once.
    from sksoftmax import _objective
    from sksoftmax._executor import fit_executor

    monkeypatch.setattr(_objective, "_BLOCK_ELEMENTS", 200)
    monkeypatch.setattr(_objective, "_MOMENT_BLOCK_ELEMENTS", 30)
    rng = np.random.default_rng(7)
    n = 997
    X = np.column_stack([
        1e9 + rng.standard_normal(n),
        rng.standard_normal(n) * 1e-3 - 5.0,
        rng.integers(0, 3, n).astype(float),
        np.full(n, -2.5),
    ])
    w = rng.uniform(0.0, 2.0, n)
    w[:300] = 0.0  # whole blocks without weight
    Xl, wl = X.astype(np.longdouble), w.astype(np.longdouble) / w.sum()
    mean = wl @ Xl
    var = wl @ (Xl - mean) ** 2 if fit_intercept else wl @ Xl**2
    data = container(X)
    if container is np.asarray:
        data = X.view(_CountingArray)
        _CountingArray.rows_read = 0
    with fit_executor(3):
        mu, sigma = column_scaling(data, w, fit_intercept)
    if container is np.asarray:
        assert _CountingArray.rows_read == n
    expected_mu = np.asarray(mean, dtype=float) if fit_intercept else np.zeros(4)
    assert_allclose(mu, expected_mu, rtol=1e-14, atol=0)
    expected_sigma = np.sqrt(np.asarray(var, dtype=float))
    expected_sigma[3] = 2.5  # constant column: its magnitude
    # The means of 1e9 are rounded to 1e-7: relative 1e-8 on a spread of 1.
    rtol = 1e-8 if container is np.asarray else 2e-7  # sparse: sq - mean**2
    if container is not np.asarray and fit_intercept:
        # E[x^2] - E[x]^2 loses the spread of the 1e9 column (as before).
        expected_sigma, sigma = expected_sigma[1:], sigma[1:]
    assert_allclose(sigma, expected_sigma, rtol=rtol)


@pytest.mark.parametrize("shape", [(100_000, 100, 10), (20_000, 50, 5),
                                   (1797, 64, 10), (5, 3, 2), (0, 4, 3)])
def test_parallel_row_blocks_cover_rows(shape):
    from sksoftmax import _objective

    n, d, k = shape
    blocks = row_blocks(n, d, k, parallel=True)
    covered = np.concatenate([np.arange(n)[b] for b in blocks])
    assert_allclose(covered, np.arange(n))
    sizes = [b.stop - b.start for b in blocks]
    # Bounded blocks; medium data in enough blocks for several threads,
    # small data in one.
    assert max(sizes) * max(d, k) <= max(_objective._BLOCK_ELEMENTS, max(d, k))
    if n * max(d, k) >= _objective._MIN_BLOCKS * _objective._MIN_PARALLEL_BLOCK:
        assert len(blocks) >= _objective._MIN_BLOCKS
    if n * max(d, k) <= _objective._MIN_PARALLEL_BLOCK:
        assert len(blocks) == 1


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_data_curvature_against_hessian_diagonal(sparse, weighted):
    # The median over columns of the class-averaged Hessian diagonal of the
    # mean cross-entropy in centred, unit-variance columns, written out.
    X, _, weights = make_problem(n=300, d=6, k=4, sparse=sparse,
                                       weighted=weighted, seed=3)
    mu, sigma = column_scaling(X, weights, True)
    rng = np.random.default_rng(1)
    coef, intercept = rng.standard_normal((4, 6)) * 0.3, rng.standard_normal(4)
    Xd = X.toarray() if sparse else X
    Z = Xd @ coef.T + intercept
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    U = (Xd - mu) / sigma
    diag = np.einsum("i,ik,ij->kj", weights, P * (1 - P), U**2) / weights.sum()
    expected = np.median(diag.mean(axis=0))
    got = CurvatureProbe(X, weights, mu, sigma)(coef, intercept)
    assert_allclose(got, expected, rtol=1e-10)


def test_data_curvature_at_the_prior_and_clipped():
    X, targets, weights = make_problem(n=400, d=5, k=5, seed=4)
    mu, sigma = column_scaling(X, weights, True)
    p = np.bincount(targets) / len(targets)
    log_p = np.log(p)
    at_prior = CurvatureProbe(X, weights, mu, sigma)(np.zeros((5, 5)), log_p)
    # Every row has the prior's probabilities: (1 - sum p^2) / K per column.
    assert_allclose(at_prior, (1 - p @ p) / 5, rtol=1e-12)
    # A fit that separates the classes has almost no curvature left: the floor.
    huge = CurvatureProbe(X, weights, mu, sigma)(np.eye(5) * 1e4, log_p)
    assert huge == 1e-3


def test_rule_scale_reads_the_default_coordinates():
    # With another curvature the solver sees other coordinates; rule_scale
    # takes its gradient back to those of the default conditioning.
    X, targets, weights = make_problem(n=80, d=5, k=3, seed=5)
    mu, sigma = column_scaling(X, weights, True)
    rng = np.random.default_rng(2)
    coef, intercept = rng.standard_normal((3, 5)), rng.standard_normal(3)
    default = SoftmaxObjective(X, targets, weights, 3, 0.01, True, mu=mu,
                               sigma=sigma)
    moved = SoftmaxObjective(X, targets, weights, 3, 0.01, True, mu=mu,
                             sigma=sigma, curvature=0.2)
    assert default.rule_scale() is None
    assert not np.allclose(moved.sigma, default.sigma)
    f0, g0 = default.loss_grad(default.from_original(coef, intercept))
    f1, g1 = moved.loss_grad(moved.from_original(coef, intercept))
    assert_allclose(f1, f0, rtol=1e-13)
    assert_allclose(g1 * moved.rule_scale(), g0, rtol=1e-12, atol=1e-15)


def test_row_sums_evaluate_dense_float64_data_in_column_major_order(monkeypatch):
    # The kernel's logits read X.T: dense float64 data is copied into
    # column-major order once (evaluation_layout); the user's array is left
    # as it is, and the sums are the same.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 7))
    codes = rng.integers(0, 4, 300)
    weights = rng.uniform(0.5, 2.0, 300)
    coef, intercept = rng.standard_normal((4, 7)), rng.standard_normal(4)
    row_sums = NumpyRowSums(X, codes, weights, 4)
    assert row_sums.X.flags.f_contiguous and row_sums.X is not X
    assert X.flags.c_contiguous
    assert_allclose(row_sums.X, X, rtol=0, atol=0)
    # Column-major input is used without a copy.
    X_f = np.asfortranarray(X)
    assert NumpyRowSums(X_f, codes, weights, 4).X is X_f
    # float32 keeps its order; sparse data goes to CSR.
    X32 = X.astype(np.float32)
    assert NumpyRowSums(X32, codes, weights, 4).X is X32
    assert sp.issparse(NumpyRowSums(sp.csc_matrix(X), codes, weights, 4).X)
    # Above the copy budget the data is used as given.
    monkeypatch.setattr(objective_module, "_LAYOUT_COPY_BYTES", X.nbytes - 1)
    as_given = NumpyRowSums(X, codes, weights, 4)
    assert as_given.X is X
    for a, b in zip(as_given(coef, intercept), row_sums(coef, intercept),
                    strict=True):
        assert_allclose(a, b, rtol=1e-12)
