"""Extreme but valid input: finite coefficients and probabilities, never NaN.

RuntimeWarnings are errors in this test suite (pyproject's ``filterwarnings``),
and every test here also turns them into errors itself, so an overflow or an
invalid operation anywhere inside a fit or a prediction fails the test.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from sksoftmax import SoftmaxClassifier


@pytest.fixture(autouse=True)
def _runtime_warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        yield


def _data(n_samples=42, n_features=4, n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, n_features))
    y = np.arange(n_samples) % n_classes
    X += 0.8 * np.eye(n_classes, n_features)[y]  # some signal
    return X, y


def assert_finite_fit(est, X):
    """Finite coefficients, intercepts, loss; probabilities that sum to 1."""
    assert np.all(np.isfinite(est.coef_)), est.coef_
    assert np.all(np.isfinite(est.intercept_)), est.intercept_
    assert np.isfinite(est.loss_)
    proba = est.predict_proba(X)
    log_proba = est.predict_log_proba(X)
    assert np.all(np.isfinite(proba)) and np.all(np.isfinite(log_proba))
    tol = 1e-5 if proba.dtype == np.float32 else 1e-12
    assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=tol)
    assert np.all(np.isfinite(np.asarray(est.decision_function(X))))


SCALES = [1e-300, 1e-150, 1e-20, 1e20, 1e150, 1e300]


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("C", [1.0, np.inf])
@pytest.mark.parametrize("container", [np.asarray, sp.csr_matrix])
def test_uniformly_scaled_features(scale, C, container):
    # Scaling X by s and coef_ by 1/s is the same model: with no penalty the
    # probabilities cannot depend on s at all.
    X, y = _data()
    ref = SoftmaxClassifier(C=C).fit(X, y)
    est = SoftmaxClassifier(C=C).fit(container(X * scale), y)
    assert_finite_fit(est, container(X * scale))
    if C == np.inf:
        assert_allclose(est.predict_proba(container(X * scale)),
                        ref.predict_proba(X), atol=1e-4)
        assert_allclose(est.coef_ * scale, ref.coef_, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("C", [1.0, np.inf])
@pytest.mark.parametrize("sparse", [False, True])
def test_columns_from_1e_minus_300_to_1e300(fit_intercept, C, sparse):
    X, y = _data()
    scales = np.array([1e-300, 1e-100, 1e100, 1e300])
    Xs = X * scales
    Xs = sp.csc_matrix(Xs) if sparse else Xs
    est = SoftmaxClassifier(C=C, fit_intercept=fit_intercept).fit(Xs, y)
    assert_finite_fit(est, Xs)
    if C == np.inf:
        # Unpenalized: exactly the model of the unscaled data.
        ref = SoftmaxClassifier(C=np.inf, fit_intercept=fit_intercept).fit(X, y)
        assert_allclose(est.predict_proba(Xs), ref.predict_proba(X), atol=1e-4)


@pytest.mark.parametrize("value", [0.0, 5.0, -3e-200, 1e300, -1e300])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("sparse", [False, True])
def test_constant_columns(value, fit_intercept, sparse):
    X, y = _data()
    Xc = np.column_stack([X[:, :2], np.full(len(y), value), X[:, 2:]])
    Xc = sp.csr_matrix(Xc) if sparse else Xc
    est = SoftmaxClassifier(fit_intercept=fit_intercept).fit(Xc, y)
    assert_finite_fit(est, Xc)
    if fit_intercept:
        # The intercept absorbs a constant column, and the penalty then drives
        # its coefficient to zero: the model of the data without it.
        ref = SoftmaxClassifier().fit(X, y)
        assert_allclose(est.coef_[:, 2] * value, 0, atol=1e-6 * max(1, abs(value)))
        assert_allclose(est.predict_proba(Xc), ref.predict_proba(X), atol=1e-5)


@pytest.mark.parametrize("C", [1.0, np.inf])
def test_duplicated_columns(C):
    # Duplicated columns make the design rank deficient. With a penalty the
    # optimum is the minimum-norm split: columns x, x, 3x share a coefficient
    # in the ratio 1 : 1 : 3. Without one, any split is optimal and the
    # predictions are those of the data without the copies.
    X, y = _data()
    Xd = np.column_stack([X, X, 3 * X[:, :1]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = SoftmaxClassifier(C=C, tol=1e-10, max_iter=1000).fit(Xd, y)
    assert_finite_fit(est, Xd)
    if np.isfinite(C):
        assert_allclose(est.coef_[:, 4:8], est.coef_[:, :4], rtol=1e-4, atol=1e-6)
        assert_allclose(est.coef_[:, 8], 3 * est.coef_[:, 0], rtol=1e-4, atol=1e-6)
    else:
        ref = SoftmaxClassifier(C=np.inf, tol=1e-10).fit(X, y)
        assert_allclose(est.predict_proba(Xd), ref.predict_proba(X), atol=1e-5)


C_VALUES = [1e-300, 1e-100, 1e-10, 1e-3, 1.0, 1e3, 1e10, 1e100, 1e300, np.inf]


@pytest.mark.parametrize("C", C_VALUES)
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_C_from_1e_minus_300_to_inf(C, fit_intercept):
    X, y = _data()
    est = SoftmaxClassifier(C=C, fit_intercept=fit_intercept, max_iter=500).fit(X, y)
    assert_finite_fit(est, X)
    if C <= 1e-10:
        # The penalty wins: coefficients vanish, the intercepts are the log
        # priors (here uniform).
        assert np.max(np.abs(est.coef_)) < 1e-8
        assert_allclose(est.predict_proba(X), 1 / 3, atol=1e-6)
    if C >= 1e10:
        ref = SoftmaxClassifier(C=np.inf, fit_intercept=fit_intercept,
                                max_iter=500).fit(X, y)
        assert_allclose(est.coef_, ref.coef_, rtol=1e-4, atol=1e-5)


def test_tiny_C_matches_scikit_learn():
    X, y = _data()
    est = SoftmaxClassifier(C=1e-3, tol=1e-10, max_iter=1000).fit(X, y)
    ref = LogisticRegression(C=1e-3, tol=1e-10, max_iter=1000).fit(X, y)
    assert_allclose(est.coef_, ref.coef_, rtol=1e-4, atol=1e-9)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_separable_data_without_penalty(n_classes, fit_intercept):
    # The optimum is at infinity: the fit must stop with finite coefficients
    # (a ConvergenceWarning is allowed), probabilities near 0/1, no NaN.
    rng = np.random.default_rng(1)
    centres = 6.0 * np.array([[1, 1], [-1, -1], [1, -1]])[:n_classes]
    y = np.arange(30) % n_classes
    X = centres[y] + rng.normal(scale=0.5, size=(30, 2))
    for params in [{}, {"tol": 0.0, "max_iter": 10_000}]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est = SoftmaxClassifier(C=np.inf, fit_intercept=fit_intercept,
                                    **params).fit(X, y)
        assert_finite_fit(est, X)
        assert_array_equal(est.predict(X), y)
        assert est.score(X, y) == 1.0


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("soft", [False, True])
def test_max_iter_zero_returns_the_start(fit_intercept, soft):
    X, y = _data()
    target = np.eye(3)[y] if soft else y
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # nothing to warn
        est = SoftmaxClassifier(max_iter=0, fit_intercept=fit_intercept).fit(X, target)
    assert_finite_fit(est, X)
    assert est.n_iter_ == 0
    assert_array_equal(est.coef_, 0.0)
    # Balanced classes: the log-prior start is uniform.
    assert_allclose(est.predict_proba(X), 1 / 3, atol=1e-12)
    assert_allclose(est.loss_, np.log(3), rtol=1e-12)


@pytest.mark.parametrize("weight", [1e-300, 1e-200, 1e200, 1e307])
def test_extreme_sample_weights_give_the_same_fit(weight):
    # A common factor on all weights with C divided by it is the same
    # objective; weights near the float64 limits must not overflow.
    X, y = _data()
    ref = SoftmaxClassifier(C=1.0, tol=1e-8).fit(X, y)
    est = SoftmaxClassifier(C=1.0 / weight, tol=1e-8).fit(
        X, y, sample_weight=np.full(len(y), weight)
    )
    assert_finite_fit(est, X)
    assert_allclose(est.coef_, ref.coef_, rtol=1e-6, atol=1e-8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        unpenalized = SoftmaxClassifier(C=np.inf).fit(
            X, y, sample_weight=np.full(len(y), weight)
        )
    assert_finite_fit(unpenalized, X)


def test_weights_spanning_600_orders_of_magnitude():
    X, y = _data()
    sw = np.logspace(-300, 300, len(y))
    est = SoftmaxClassifier().fit(X, y, sample_weight=sw)
    assert_finite_fit(est, X)


def test_huge_values_in_one_row_and_at_predict():
    X, y = _data()
    X_big = np.vstack([X, [1e308, -1e308, 1e308, 1e-308]])
    est = SoftmaxClassifier().fit(X_big, np.append(y, 0))
    assert_finite_fit(est, X_big)
    ref = SoftmaxClassifier().fit(X, y)
    # Logits of +-1e300-scale inputs overflow to +-inf in float64; the softmax
    # of such rows must still be a distribution (or the input refused).
    X_test = np.array([[1e300, -1e300, 1e300, 0.0], [1e-300, 0, 0, 0]])
    proba = ref.predict_proba(X_test)
    assert np.all(np.isfinite(proba))
    assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_largest_finite_values_of_the_dtype(dtype):
    X, y = _data()
    big = np.finfo(dtype).max / 2
    X = np.vstack([X, [big, -big, big, big]]).astype(dtype)
    est = SoftmaxClassifier().fit(X, np.append(y, 1))
    assert est.coef_.dtype == dtype
    assert_finite_fit(est, X)


@pytest.mark.parametrize("eps", [1e-12, 0.5, 1 - 1e-9])
def test_extreme_label_smoothing(eps):
    X, y = _data()
    est = SoftmaxClassifier(label_smoothing=eps).fit(X, y)
    assert_finite_fit(est, X)


@pytest.mark.filterwarnings("ignore:The number of unique classes:UserWarning")
def test_many_classes_few_samples():
    X, y = _data(n_samples=30)
    y = np.arange(30)  # every sample its own class
    est = SoftmaxClassifier().fit(X, y)
    assert_finite_fit(est, X)
    assert est.coef_.shape == (30, X.shape[1])


def test_two_samples_and_one_feature():
    est = SoftmaxClassifier().fit([[0.0], [1.0]], [0, 1])
    assert_finite_fit(est, np.array([[0.0], [1.0], [1e300]]))


def test_repeated_fits_are_bit_identical():
    X, y = _data()
    sw = np.random.default_rng(3).uniform(0.1, 2, size=len(y))
    for make in [lambda: X, lambda: sp.csr_matrix(X), lambda: X.astype(np.float32)]:
        fits = [SoftmaxClassifier(class_weight="balanced").fit(make(), y, sw)
                for _ in range(3)]
        for other in fits[1:]:
            assert_array_equal(other.coef_, fits[0].coef_)
            assert_array_equal(other.intercept_, fits[0].intercept_)
            assert other.loss_curve_ == fits[0].loss_curve_
            assert other.n_iter_ == fits[0].n_iter_
        # Refitting the same estimator object gives the same bits too.
        est = fits[0]
        coef = est.coef_.copy()
        assert_array_equal(est.fit(make(), y, sw).coef_, coef)
