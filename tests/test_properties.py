"""Property-based tests: equivalences that a correct softmax fit satisfies.

Each property compares two fits that minimize the *same* strictly convex
objective written two ways (duplicated rows vs integer weights, soft targets vs
expanded weighted rows, ...), so both must reach the same optimum. Fits use a
tight ``tol`` and a finite ``C`` (a unique optimum); data are small.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning

from sksoftmax import SoftmaxClassifier

hypothesis = pytest.importorskip("hypothesis")
st = pytest.importorskip("hypothesis.strategies")
given, settings = hypothesis.given, hypothesis.settings

# Tight enough that two fits of the same objective agree to ~1e-6.
TIGHT = {"tol": 1e-10, "max_iter": 2000}
EXAMPLES = settings(max_examples=30, deadline=None)

pytestmark = pytest.mark.filterwarnings(
    # tol=1e-10 is below what a line search can always resolve; the
    # comparisons below are what decides.
    "ignore::sklearn.exceptions.ConvergenceWarning"
)


@st.composite
def problems(draw, min_classes=2, max_classes=4):
    """``(X, y, rng)``: small Gaussian data, every class present."""
    n_classes = draw(st.integers(min_classes, max_classes))
    n_features = draw(st.integers(1, 4))
    n_samples = draw(st.integers(2 * n_classes, 24))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scales = 10.0 ** rng.uniform(-1, 1, size=n_features)
    X = rng.normal(size=(n_samples, n_features)) * scales
    y = rng.permutation(np.arange(n_samples) % n_classes)
    return X, y, rng


Cs = st.floats(-1.3, 0.7).map(lambda e: float(10.0**e))  # 0.05 to 5
fit_intercepts = st.booleans()


def _assert_same_fit(a, b):
    # tol=1e-10 is not always reachable by the line search (SciPy < 1.15 stops
    # earlier), so allow 1e-5 of the coefficients' scale; a wrong objective
    # moves them by far more.
    assert_array_equal(a.classes_, b.classes_)
    atol = 1e-5 * max(1.0, np.abs(b.coef_).max(), np.abs(b.intercept_).max())
    assert_allclose(a.coef_, b.coef_, rtol=1e-5, atol=atol)
    assert_allclose(a.intercept_, b.intercept_, rtol=1e-5, atol=atol)


@EXAMPLES
@given(problems(), Cs, fit_intercepts, st.data())
def test_integer_weights_equal_duplicated_rows(problem, C, fit_intercept, data):
    X, y, rng = problem
    n_classes = len(np.unique(y))
    sw = rng.integers(0, 4, size=len(y))
    # Keep one sample of every class, so that every class has positive weight.
    first = [np.flatnonzero(y == k)[0] for k in range(n_classes)]
    sw[first] = np.maximum(sw[first], 1)
    est = SoftmaxClassifier(C=C, fit_intercept=fit_intercept, **TIGHT)
    weighted = est.fit(X, y, sample_weight=sw)
    repeated = SoftmaxClassifier(**est.get_params()).fit(
        np.repeat(X, sw, axis=0), np.repeat(y, sw)
    )
    _assert_same_fit(weighted, repeated)
    X_test = rng.normal(size=(5, X.shape[1]))
    assert_allclose(
        weighted.predict_proba(X_test), repeated.predict_proba(X_test), atol=1e-5
    )


@EXAMPLES
@given(problems(), Cs, fit_intercepts)
def test_relabeling_classes_permutes_rows_and_columns(problem, C, fit_intercept):
    X, y, rng = problem
    n_classes = len(np.unique(y))
    # Class k gets the label names[perm[k]]; classes_ are sorted names, so the
    # fitted rows come back in the order perm.
    perm = rng.permutation(n_classes)
    names = np.array(["ant", "bee", "cat", "dog"])[:n_classes]
    params = {"C": C, "fit_intercept": fit_intercept, **TIGHT}
    ref = SoftmaxClassifier(**params).fit(X, y)
    relabeled = SoftmaxClassifier(**params).fit(X, names[perm[y]])
    assert_array_equal(relabeled.classes_, names)
    order = np.argsort(perm)  # row j of relabeled is class order[j] of ref
    # Shuffling the samples changes nothing either.
    rows = rng.permutation(len(y))
    shuffled = SoftmaxClassifier(**params).fit(X[rows], y[rows])
    _assert_same_fit(shuffled, ref)
    ref.classes_, ref.coef_, ref.intercept_ = (
        names, ref.coef_[order], ref.intercept_[order]
    )
    _assert_same_fit(relabeled, ref)
    X_test = rng.normal(size=(5, X.shape[1]))
    assert_allclose(
        relabeled.predict_proba(X_test), ref.predict_proba(X_test), atol=1e-5
    )


@EXAMPLES
@given(problems(), Cs, fit_intercepts, st.booleans())
def test_soft_targets_equal_expanded_weighted_rows(problem, C, fit_intercept,
                                                   weighted):
    X, y, rng = problem
    n_samples, n_classes = len(y), len(np.unique(y))
    Y = rng.dirichlet(np.full(n_classes, 0.5), size=n_samples)
    sw = rng.uniform(0.1, 3.0, size=n_samples) if weighted else np.ones(n_samples)
    params = {"C": C, "fit_intercept": fit_intercept, **TIGHT}
    soft = SoftmaxClassifier(**params).fit(
        X, Y, sample_weight=sw if weighted else None
    )
    # Each sample becomes n_classes rows, one per class, weighted by s_i t_ik.
    expanded = SoftmaxClassifier(**params).fit(
        np.repeat(X, n_classes, axis=0),
        np.tile(np.arange(n_classes), n_samples),
        sample_weight=(sw[:, None] * Y).ravel(),
    )
    _assert_same_fit(soft, expanded)


@EXAMPLES
@given(problems(), Cs, st.floats(0.0, 0.9), st.booleans())
def test_label_smoothing_equals_smoothed_soft_targets(problem, C, eps, soft_input):
    X, y, rng = problem
    n_classes = len(np.unique(y))
    T = (rng.dirichlet(np.ones(n_classes), size=len(y)) if soft_input
         else np.eye(n_classes)[y])
    smoothed_by_hand = (1 - eps) * T + eps / n_classes
    smoothed = SoftmaxClassifier(C=C, label_smoothing=eps, **TIGHT).fit(
        X, T if soft_input else y
    )
    by_hand = SoftmaxClassifier(C=C, **TIGHT).fit(X, smoothed_by_hand)
    _assert_same_fit(smoothed, by_hand)


@EXAMPLES
@given(problems(), Cs, fit_intercepts, st.sampled_from(["csr", "csc"]),
       st.booleans())
def test_sparse_equals_dense(problem, C, fit_intercept, fmt, weighted):
    X, y, rng = problem
    X = np.where(rng.random(X.shape) < 0.5, 0.0, X)  # genuinely sparse
    sw = rng.uniform(0.5, 2.0, size=len(y)) if weighted else None
    params = {"C": C, "fit_intercept": fit_intercept, **TIGHT}
    dense = SoftmaxClassifier(**params).fit(X, y, sample_weight=sw)
    sparse = SoftmaxClassifier(**params).fit(
        sp.csr_matrix(X).asformat(fmt), y, sample_weight=sw
    )
    _assert_same_fit(sparse, dense)
    assert_allclose(
        sparse.predict_proba(sp.csr_matrix(X)), dense.predict_proba(X), atol=1e-5
    )


@EXAMPLES
@given(problems(), Cs, fit_intercepts)
def test_float32_close_to_float64(problem, C, fit_intercept):
    X, y, _ = problem
    params = {"C": C, "fit_intercept": fit_intercept, "max_iter": 500}
    f64 = SoftmaxClassifier(**params).fit(X, y)
    f32 = SoftmaxClassifier(**params).fit(X.astype(np.float32), y)
    assert f32.coef_.dtype == np.float32
    proba32 = f32.predict_proba(X.astype(np.float32))
    assert proba32.dtype == np.float32
    # Both stop at tol=1e-4 in the scaled coordinates: close, not equal.
    assert_allclose(proba32, f64.predict_proba(X), atol=2e-3)


@EXAMPLES
@given(problems(), Cs, st.floats(1e-3, 1e3), fit_intercepts)
def test_scaling_weights_by_a_equals_dividing_C_by_a(problem, C, a, fit_intercept):
    # f = sum s CE / S + |W|^2 / (2 C S) depends on s and C only through s / S
    # and C * S.
    X, y, rng = problem
    sw = rng.uniform(0.5, 2.0, size=len(y))
    params = {"fit_intercept": fit_intercept, **TIGHT}
    ref = SoftmaxClassifier(C=C, **params).fit(X, y, sample_weight=sw)
    scaled = SoftmaxClassifier(C=C / a, **params).fit(X, y, sample_weight=a * sw)
    _assert_same_fit(scaled, ref)


@settings(max_examples=40, deadline=None)
@given(
    problems(max_classes=5),
    st.floats(-6, 6).map(lambda e: float(10.0**e)) | st.just(float("inf")),
    fit_intercepts,
    st.sampled_from([None, "balanced"]),
    st.floats(0.0, 0.5),
    st.integers(0, 30),
    st.floats(-3, 3),
)
def test_probabilities_finite_and_sum_to_one(problem, C, fit_intercept,
                                             class_weight, eps, max_iter,
                                             log_scale):
    X, y, rng = problem
    est = SoftmaxClassifier(
        C=C, fit_intercept=fit_intercept, class_weight=class_weight,
        label_smoothing=eps, max_iter=max_iter,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        est.fit(X, y)
    assert np.all(np.isfinite(est.coef_)) and np.all(np.isfinite(est.intercept_))
    X_test = rng.normal(size=(7, X.shape[1])) * 10.0**log_scale
    proba = est.predict_proba(X_test)
    log_proba = est.predict_log_proba(X_test)
    assert proba.shape == (7, len(est.classes_))
    assert np.all(np.isfinite(proba)) and np.all(proba >= 0)
    assert np.all(np.isfinite(log_proba)) and np.all(log_proba <= 0)
    assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert_allclose(np.exp(log_proba), proba, rtol=1e-12, atol=1e-300)
    pred = est.predict(X_test)
    scores = est.decision_function(X_test)
    # The label is the most probable class; where rounding makes the top
    # log-probabilities equal (logits 1e-16 apart, e.g. the equal priors of
    # max_iter=0 with class_weight="balanced"), any of the tied classes.
    top = log_proba == log_proba.max(axis=1, keepdims=True)
    chosen = np.searchsorted(est.classes_, pred)
    assert np.all(top[np.arange(len(pred)), chosen])
    if len(est.classes_) == 2:
        assert_array_equal(pred, est.classes_[(scores > 0).astype(int)])
