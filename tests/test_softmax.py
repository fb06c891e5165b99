"""SoftmaxClassifier against independent references.

The reference optimum is scikit-learn's ``LogisticRegression(solver="lbfgs")``
(same objective for three or more classes; ``C=2*C`` for two classes) and a
naive NumPy evaluation of the objective written out in this file.
"""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import logsumexp
from sklearn import config_context
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import load_digits, load_iris, load_wine, make_classification
from sklearn.ensemble import StackingClassifier
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from sksoftmax import SoftmaxClassifier

TIGHT = dict(tol=1e-10, max_iter=5000)


def _sklearn_older_than(version):
    from sklearn.utils.fixes import parse_version

    return parse_version(sklearn.__version__) < parse_version(version)


def naive_objective(X, y, coef, intercept, C, sample_weight=None):
    """sum_i s_i CE_i / S + ||W||^2 / (2 C S), written out directly."""
    _, codes = np.unique(y, return_inverse=True)
    s = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight)
    Z = np.asarray(X @ coef.T) + intercept
    ce = logsumexp(Z, axis=1) - Z[np.arange(len(y)), codes]
    S = s.sum()
    penalty = 0.0 if np.isinf(C) else np.sum(coef**2) / (2 * C * S)
    return s @ ce / S + penalty


def fit_lr(X, y, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return LogisticRegression(tol=1e-10, max_iter=10000, **params).fit(X, y)


def dataset(name):
    if name == "iris":
        return load_iris(return_X_y=True)
    loader = {"wine": load_wine, "digits": load_digits}[name]
    X, y = loader(return_X_y=True)
    if name == "digits":
        X, y = X[:500], y[:500]
    # Same objective whatever the features; scaled so that LogisticRegression,
    # the reference, converges in a test's time.
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize("name", ["iris", "wine", "digits"])
@pytest.mark.parametrize("C", [0.01, 1.0, 100.0])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_same_optimum_as_logistic_regression(name, C, fit_intercept):
    X, y = dataset(name)
    ours = SoftmaxClassifier(C=C, fit_intercept=fit_intercept, **TIGHT).fit(X, y)
    ref = fit_lr(X, y, C=C, fit_intercept=fit_intercept)
    f_ours = naive_objective(X, y, ours.coef_, ours.intercept_, C)
    f_ref = naive_objective(X, y, ref.coef_, ref.intercept_, C)
    assert f_ours <= f_ref + 1e-9
    assert_allclose(ours.loss_, f_ours, rtol=1e-10)
    scale = np.abs(ref.coef_).max()
    assert_allclose(ours.coef_, ref.coef_, atol=1e-4 * scale)
    assert_allclose(ours.intercept_, ref.intercept_, atol=1e-4 * max(scale, 1))
    assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-5)


@pytest.mark.parametrize("class_weight", [None, "balanced", {0: 3.0, 2: 0.5}])
def test_same_optimum_with_sample_and_class_weights(class_weight):
    if class_weight == "balanced" and _sklearn_older_than("1.7"):
        pytest.skip("scikit-learn < 1.7 ignores sample_weight in 'balanced'")
    X, y = dataset("wine")
    rng = np.random.RandomState(0)
    sw = rng.uniform(0.1, 3.0, size=len(y))
    ours = SoftmaxClassifier(class_weight=class_weight, **TIGHT)
    ours.fit(X, y, sample_weight=sw)
    ref = fit_lr(X, y, class_weight=class_weight)
    ref.fit(X, y, sample_weight=sw)
    assert_allclose(ours.coef_, ref.coef_, atol=1e-4 * np.abs(ref.coef_).max())
    assert_allclose(ours.intercept_, ref.intercept_, atol=1e-4)


@pytest.mark.parametrize("C", [0.05, 1.0, 20.0])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_binary_is_logistic_regression_with_twice_C(C, fit_intercept):
    X, y = make_classification(n_samples=200, n_features=6, random_state=0)
    ours = SoftmaxClassifier(C=C, fit_intercept=fit_intercept, **TIGHT).fit(X, y)
    ref = fit_lr(X, y, C=2 * C, fit_intercept=fit_intercept)
    assert ours.coef_.shape == (2, 6)
    assert ours.intercept_.shape == (2,)
    # The penalty makes the two vectors symmetric: w_0 = -w_1.
    assert_allclose(ours.coef_[0], -ours.coef_[1], atol=1e-8)
    assert_allclose(ours.coef_[1] - ours.coef_[0], ref.coef_[0], rtol=1e-5,
                    atol=1e-7)
    assert_allclose(ours.intercept_[1] - ours.intercept_[0], ref.intercept_[0],
                    atol=1e-6)
    assert_allclose(ours.decision_function(X), ref.decision_function(X),
                    atol=1e-5)
    assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-7)
    assert_array_equal(ours.predict(X), ref.predict(X))


def test_decision_function_convention():
    X, y = load_iris(return_X_y=True)
    clf = SoftmaxClassifier().fit(X, y)
    Z = clf.decision_function(X)
    assert Z.shape == (150, 3)
    assert_allclose(Z, X @ clf.coef_.T + clf.intercept_)
    binary = SoftmaxClassifier().fit(X[y < 2], y[y < 2])
    z = binary.decision_function(X)
    assert z.shape == (150,)
    full = X @ binary.coef_.T + binary.intercept_
    assert_allclose(z, full[:, 1] - full[:, 0])
    assert_array_equal(binary.predict(X), binary.classes_[(z > 0).astype(int)])


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_equals_dense(fmt):
    X, y = make_classification(n_samples=300, n_features=20, n_informative=6,
                               n_classes=4, random_state=1)
    X[np.abs(X) < 0.8] = 0.0
    dense = SoftmaxClassifier(**TIGHT).fit(X, y)
    sparse = SoftmaxClassifier(**TIGHT).fit(sp.csr_matrix(X).asformat(fmt), y)
    assert_allclose(sparse.coef_, dense.coef_, rtol=1e-5, atol=1e-6)
    assert_allclose(sparse.intercept_, dense.intercept_, atol=1e-6)
    assert_allclose(sparse.predict_proba(sp.csr_matrix(X)), dense.predict_proba(X),
                    atol=1e-6)


@pytest.mark.parametrize("sparse", [False, True])
def test_integer_weights_equal_duplicated_rows(sparse):
    X, y = make_classification(n_samples=120, n_features=5, n_informative=3,
                               n_classes=3, random_state=2)
    w = np.random.RandomState(0).randint(0, 4, size=len(y))
    X_rep, y_rep = np.repeat(X, w, axis=0), np.repeat(y, w)
    if sparse:
        X, X_rep = sp.csr_matrix(X), sp.csr_matrix(X_rep)
    weighted = SoftmaxClassifier(**TIGHT).fit(X, y, sample_weight=w)
    repeated = SoftmaxClassifier(**TIGHT).fit(X_rep, y_rep)
    # Same objective; SciPy < 1.15 (Fortran L-BFGS-B) stops ~1e-7 apart.
    assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-5, atol=1e-6)
    assert_allclose(weighted.intercept_, repeated.intercept_, atol=1e-6)
    assert_allclose(weighted.loss_, repeated.loss_, rtol=1e-10)


def test_float32_stays_float32():
    X, y = load_iris(return_X_y=True)
    clf64 = SoftmaxClassifier(tol=1e-6, max_iter=1000).fit(X, y)
    X32 = X.astype(np.float32)
    clf32 = SoftmaxClassifier(tol=1e-6, max_iter=1000).fit(X32, y)
    assert clf32.coef_.dtype == np.float32
    assert clf32.intercept_.dtype == np.float32
    for method in ("predict_proba", "predict_log_proba", "decision_function"):
        assert getattr(clf32, method)(X32).dtype == np.float32
    assert_allclose(clf32.coef_, clf64.coef_, rtol=1e-3, atol=1e-3)
    assert_allclose(clf32.predict_proba(X32), clf64.predict_proba(X), atol=1e-3)
    assert clf32.predict_proba(X32[:5]).sum(axis=1) == pytest.approx(1, abs=1e-6)


def test_pandas_and_string_labels():
    pd = pytest.importorskip("pandas")
    X, y = load_iris(return_X_y=True, as_frame=True)
    names = np.array(["setosa", "versicolor", "virginica"], dtype=object)[y]
    clf = SoftmaxClassifier().fit(X, pd.Series(names))
    assert_array_equal(clf.feature_names_in_, X.columns)
    assert_array_equal(clf.classes_, ["setosa", "versicolor", "virginica"])
    numeric = SoftmaxClassifier().fit(X.to_numpy(), y.to_numpy())
    assert_array_equal(clf.predict(X), clf.classes_[numeric.predict(X.to_numpy())])
    assert_allclose(clf.coef_, numeric.coef_)


def test_stable_for_huge_logits():
    X, y = load_iris(return_X_y=True)
    clf = SoftmaxClassifier().fit(X, y)
    clf.coef_ = clf.coef_ * 1e4  # logits in the tens of thousands
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        proba = clf.predict_proba(X)
        log_proba = clf.predict_log_proba(X)
    assert np.isfinite(proba).all() and np.isfinite(log_proba).all()
    assert_allclose(proba.sum(axis=1), 1.0)
    Z = clf.decision_function(X)
    # Log-softmax, not log(proba): finite where the probability underflows.
    assert (proba == 0).any()
    assert_allclose(log_proba, Z - logsumexp(Z, axis=1, keepdims=True))


def test_loss_and_loss_curve():
    X, y = dataset("wine")
    clf = SoftmaxClassifier(C=0.5).fit(X, y)
    assert len(clf.loss_curve_) == clf.n_iter_
    assert clf.loss_curve_[-1] == clf.loss_
    assert np.all(np.diff(clf.loss_curve_) <= 1e-12)
    assert_allclose(clf.loss_,
                    naive_objective(X, y, clf.coef_, clf.intercept_, 0.5),
                    rtol=1e-12)
    assert isinstance(clf.n_iter_, int)


def test_warm_start_continues():
    X, y = dataset("digits")
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        clf = SoftmaxClassifier(warm_start=True, max_iter=3).fit(X, y)
    first = clf.loss_
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    assert clf.loss_ < first
    clf.set_params(max_iter=5000, tol=1e-8).fit(X, y)
    cold = SoftmaxClassifier(max_iter=5000, tol=1e-8).fit(X, y)
    assert_allclose(clf.coef_, cold.coef_, atol=1e-4 * np.abs(cold.coef_).max())
    # Refitting a converged warm model takes few iterations.
    clf.fit(X, y)
    assert clf.n_iter_ <= 3


def test_convergence_warning_gives_advice():
    X, y = dataset("digits")
    with pytest.warns(ConvergenceWarning, match="Increase max_iter"):
        SoftmaxClassifier(max_iter=2).fit(X, y)


def test_repeated_fits_bit_identical():
    X, y = dataset("digits")
    a = SoftmaxClassifier().fit(X, y)
    b = SoftmaxClassifier().fit(X, y)
    assert_array_equal(a.coef_, b.coef_)
    assert_array_equal(a.intercept_, b.intercept_)


@pytest.mark.parametrize(
    "X, y, sample_weight, match",
    [
        (np.array([[np.nan, 1.0], [1.0, 2.0]]), [0, 1], None, "NaN"),
        (np.array([[np.inf, 1.0], [1.0, 2.0]]), [0, 1], None, "infinity"),
        (np.ones((4, 2)), [1, 1, 1, 1], None, "class"),
        (np.ones((4, 2)), [0.1, 0.7, 1.3, 2.2], None, "Unknown label type"),
        (np.ones((4, 2)), [0, 1, 0], None, "inconsistent numbers of samples"),
        (np.ones((4, 2)), [0, 1, 0, 1], [1.0, -1.0, 1.0, 1.0], "nonnegative"),
    ],
)
def test_bad_input_errors(X, y, sample_weight, match):
    with pytest.raises(ValueError, match=match):
        SoftmaxClassifier().fit(X, y, sample_weight=sample_weight)


def test_predict_errors():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(NotFittedError):
        SoftmaxClassifier().predict(X)
    clf = SoftmaxClassifier().fit(X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :3])


def test_failed_fit_leaves_fitted_estimator_unchanged():
    X, y = load_iris(return_X_y=True)
    clf = SoftmaxClassifier().fit(X, y)
    before = {k: (v.copy() if hasattr(v, "copy") else v)
              for k, v in vars(clf).items()}
    with pytest.raises(ValueError):
        clf.fit(X[:, :2], np.zeros(len(y)))  # one class, other n_features
    assert set(vars(clf)) == set(before)
    for key, value in before.items():
        assert_array_equal(getattr(clf, key), value)
    assert clf.n_features_in_ == 4


def test_pipeline_grid_search_and_cross_validation():
    X, y = load_digits(return_X_y=True)
    X, y = X[:400], y[:400]
    pipe = make_pipeline(StandardScaler(), SoftmaxClassifier())
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.mean() > 0.85
    X = StandardScaler().fit_transform(X)
    search = GridSearchCV(SoftmaxClassifier(),
                          {"C": [0.01, 1.0], "label_smoothing": [0.0, 0.1]}, cv=3)
    search.fit(X, y)
    assert search.best_score_ > 0.85
    assert set(search.best_params_) == {"C", "label_smoothing"}


def test_calibration_and_stacking():
    X, y = load_iris(return_X_y=True)
    calibrated = CalibratedClassifierCV(SoftmaxClassifier(), cv=3).fit(X, y)
    assert_allclose(calibrated.predict_proba(X).sum(axis=1), 1.0)
    assert calibrated.score(X, y) > 0.9
    stack = StackingClassifier(
        [("tree", DecisionTreeClassifier(max_depth=2, random_state=0)),
         ("softmax", SoftmaxClassifier())],
        final_estimator=SoftmaxClassifier(), cv=3,
    ).fit(X, y)
    assert stack.score(X, y) > 0.9


def test_metadata_routing_of_sample_weight():
    X, y = dataset("wine")
    w = np.random.RandomState(0).uniform(0.2, 2.0, size=len(y))
    with config_context(enable_metadata_routing=True):
        routed = (SoftmaxClassifier().set_fit_request(sample_weight=True)
                  .set_score_request(sample_weight=False))
        result = cross_validate(routed, X, y, cv=3, params={"sample_weight": w},
                                return_estimator=True, return_indices=True)
    # The weights reached fit: the models differ from the unweighted ones and
    # equal fits made by hand with the same weights.
    first = result["estimator"][0]
    train = np.setdiff1d(np.arange(len(y)), result["indices"]["test"][0])
    by_hand = SoftmaxClassifier().fit(X[train], y[train], sample_weight=w[train])
    assert_allclose(first.coef_, by_hand.coef_)
    unweighted = SoftmaxClassifier().fit(X[train], y[train])
    assert not np.allclose(first.coef_, unweighted.coef_, atol=1e-3)


def test_clone_and_pickle():
    X, y = load_iris(return_X_y=True)
    clf = SoftmaxClassifier(C=0.3, label_smoothing=0.05).fit(X, y)
    copy = clone(clf)
    assert copy.get_params() == clf.get_params()
    assert not hasattr(copy, "coef_")
    loaded = pickle.loads(pickle.dumps(clf))
    assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
