"""Persistence: skops (trusting only sksoftmax's own class), pickle, joblib."""

import pickle

import joblib
import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import load_iris

from sksoftmax import SoftmaxClassifier

OWN_CLASS = f"{SoftmaxClassifier.__module__}.{SoftmaxClassifier.__qualname__}"
FITTED = {
    "classes_", "coef_", "intercept_", "n_iter_", "loss_", "loss_curve_",
    "n_features_in_",
}


@pytest.fixture
def sio():
    return pytest.importorskip("skops.io")


def _iris():
    X, y = load_iris(return_X_y=True)
    return X, y


def _case(name):
    """A fitted estimator covering one kind of labels / inputs / parameters."""
    X, y = _iris()
    if name == "int":
        return SoftmaxClassifier(max_iter=500), X, y
    if name == "str":
        return SoftmaxClassifier(max_iter=500), X, np.array(["setosa", "vc", "vg"])[y]
    if name == "object":
        labels = np.array(["a", "bb", "ccc"], dtype=object)[y]
        return SoftmaxClassifier(max_iter=500), X, labels
    if name == "bool":
        return SoftmaxClassifier(max_iter=500), X, y > 0
    if name == "dataframe":
        pd = pytest.importorskip("pandas")
        frame = pd.DataFrame(X, columns=["sl", "sw", "pl", "pw"])
        return SoftmaxClassifier(max_iter=500), frame, y
    if name == "soft_targets":
        return SoftmaxClassifier(label_smoothing=0.1), X, np.eye(3)[y] * 0.8 + 0.2 / 3
    if name == "float32_numpy_params":
        # NumPy scalars as parameters (a common result of grid searches).
        clf = SoftmaxClassifier(
            C=np.float64(3.0), max_iter=np.int64(500), ignore_label=np.int64(-1),
            class_weight={np.int64(0): np.float64(2.0), np.int64(1): 1.0,
                          np.int64(2): 1.0},
        )
        y = np.where(np.arange(len(y)) % 10 == 0, -1, y)
        return clf, X.astype(np.float32), y
    if name == "penalties":
        clf = SoftmaxClassifier(C=0.5, l1_ratio=0.7,
                                penalty_factor=[1.0, 0.5, 0.0, 2.0],
                                coef_bounds=(-1.0, 2.0), positive=False)
        return clf, X, y
    raise ValueError(name)


CASES = ["int", "str", "object", "bool", "dataframe", "soft_targets",
         "float32_numpy_params", "penalties"]


def _assert_same_model(loaded, clf, X):
    assert type(loaded) is type(clf)
    assert loaded.get_params() == clf.get_params()
    assert_array_equal(loaded.classes_, clf.classes_)
    assert loaded.classes_.dtype == clf.classes_.dtype
    assert_array_equal(loaded.coef_, clf.coef_)
    assert loaded.coef_.dtype == clf.coef_.dtype
    assert_array_equal(loaded.intercept_, clf.intercept_)
    assert loaded.loss_curve_ == clf.loss_curve_
    assert (loaded.n_iter_, loaded.loss_) == (clf.n_iter_, clf.loss_)
    assert_array_equal(loaded.predict(X), clf.predict(X))
    assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert_array_equal(loaded.decision_function(X), clf.decision_function(X))


@pytest.mark.parametrize("name", CASES)
def test_fitted_state_is_plain_data(name):
    clf, X, y = _case(name)
    clf.fit(X, y)
    expected = set(clf.get_params()) | FITTED
    if name == "dataframe":
        expected.add("feature_names_in_")
    # Nothing else (no solver objects, callbacks contexts, closures) is kept.
    assert set(vars(clf)) == expected
    assert isinstance(clf.n_iter_, int) and isinstance(clf.loss_, float)
    assert isinstance(clf.n_features_in_, int)
    assert isinstance(clf.loss_curve_, list)
    assert all(type(v) is float for v in clf.loss_curve_)
    for attr in ("classes_", "coef_", "intercept_"):
        assert type(getattr(clf, attr)) is np.ndarray
    assert clf.coef_.dtype.kind == "f" and clf.classes_.dtype.kind in "iubUO"
    if clf.classes_.dtype == object:
        assert all(type(c) is str for c in clf.classes_)
    if name == "dataframe":
        assert all(type(c) is str for c in clf.feature_names_in_)


@pytest.mark.parametrize("name", CASES)
def test_skops_round_trip_trusting_only_sksoftmax(name, tmp_path, sio):
    clf, X, y = _case(name)
    clf.fit(X, y)
    path = tmp_path / "model.skops"
    sio.dump(clf, path)

    assert sio.get_untrusted_types(file=path) == [OWN_CLASS]
    assert OWN_CLASS.startswith("sksoftmax.")
    loaded = sio.load(path, trusted=[OWN_CLASS])
    _assert_same_model(loaded, clf, X)


def test_skops_round_trip_of_a_sparsified_model(sio):
    X, y = _iris()
    clf = SoftmaxClassifier(C=0.1, l1_ratio=1.0).fit(X, y).sparsify()
    data = sio.dumps(clf)
    untrusted = sio.get_untrusted_types(data=data)
    assert OWN_CLASS in untrusted and len(untrusted) == 2
    assert any(t.endswith("csr_matrix") for t in untrusted)
    loaded = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    assert (loaded.coef_ != clf.coef_).nnz == 0
    assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_skops_sparsified_model_loads_with_the_documented_trust_list(sio):
    # export.rst names the CSR class to trust: it must be the one skops asks
    # for, and enough.
    X, y = _iris()
    clf = SoftmaxClassifier(C=0.1, l1_ratio=1.0).fit(X, y).sparsify()
    documented = ["scipy.sparse._csr.csr_matrix", OWN_CLASS]
    data = sio.dumps(clf)
    assert sorted(sio.get_untrusted_types(data=data)) == sorted(documented)
    loaded = sio.loads(data, trusted=documented)
    assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_skops_round_trip_of_softmax_classifier_cv(sio):
    from sksoftmax import SoftmaxClassifierCV

    X, y = _iris()
    cv = SoftmaxClassifierCV(Cs=3, cv=3).fit(X, y)
    own = f"{SoftmaxClassifierCV.__module__}.{SoftmaxClassifierCV.__qualname__}"
    data = sio.dumps(cv)
    assert sio.get_untrusted_types(data=data) == [own]
    loaded = sio.loads(data, trusted=[own])
    assert_array_equal(loaded.Cs_, cv.Cs_)
    assert loaded.C_ == cv.C_
    assert_array_equal(loaded.predict_proba(X), cv.predict_proba(X))


def test_skops_refuses_to_load_without_trust(tmp_path, sio):
    from skops.io.exceptions import UntrustedTypesFoundException

    X, y = _iris()
    path = tmp_path / "model.skops"
    sio.dump(SoftmaxClassifier(max_iter=500).fit(X, y), path)
    with pytest.raises(UntrustedTypesFoundException, match=r"[Uu]ntrusted"):
        sio.load(path)


def test_skops_round_trip_of_an_unfitted_estimator(sio):
    clf = SoftmaxClassifier(C=0.5, label_smoothing=0.2)
    data = sio.dumps(clf)
    assert sio.get_untrusted_types(data=data) == [OWN_CLASS]
    assert sio.loads(data, trusted=[OWN_CLASS]).get_params() == clf.get_params()


@pytest.mark.parametrize("name", ["str", "dataframe", "float32_numpy_params"])
def test_pickle_and_joblib_round_trip(name, tmp_path):
    clf, X, y = _case(name)
    clf.fit(X, y)
    _assert_same_model(pickle.loads(pickle.dumps(clf)), clf, X)
    path = tmp_path / "model.joblib"
    joblib.dump(clf, path)
    _assert_same_model(joblib.load(path), clf, X)


def test_loaded_model_warm_starts_from_its_solution(sio):
    X, y = _iris()
    clf = SoftmaxClassifier(max_iter=500, warm_start=True).fit(X, y)
    loaded = sio.loads(sio.dumps(clf), trusted=[OWN_CLASS])
    loaded.fit(X, y)
    # Already at the optimum: the warm-started refit has nothing left to do.
    assert loaded.n_iter_ <= 2
    np.testing.assert_allclose(loaded.coef_, clf.coef_, rtol=0, atol=1e-3)
