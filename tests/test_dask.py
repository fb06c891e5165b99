"""The Dask backend against the in-memory fit, on a real two-process cluster."""

import importlib
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from sksoftmax import SoftmaxClassifier

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

TIGHT = {"tol": 1e-10, "max_iter": 1000}


@pytest.fixture(scope="module")
def client():
    # Two worker processes: the chunk functions and the parameters really
    # travel by pickle, as on a cluster.
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0",
        memory_limit="1GB",
    ) as cluster, distributed.Client(cluster) as client:
        # Import on the workers now, not inside the first test's timing.
        client.run(importlib.import_module, "sksoftmax._dask")
        yield client


def make_data(n_samples=600, n_features=4, n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n_samples)
    X = rng.normal(size=(n_samples, n_features)) * [10.0, 1.0, 0.1, 3.0][:n_features]
    X[:, 0] += 5.0 * y + 40.0  # informative, far from centred
    return X, y


def fit_both(X, y, chunks=(150, 2), sample_weight=None, dask_weight=True, **params):
    """The in-memory fit and the Dask fit of the same data."""
    params = {**TIGHT, **params}
    expected = SoftmaxClassifier(**params).fit(X, y, sample_weight=sample_weight)
    Xd = da.from_array(X, chunks=chunks)
    yd = y  # lists and 2-D targets as they are
    if isinstance(y, np.ndarray) and y.ndim == 1:
        yd = da.from_array(y, chunks=chunks[0])
    sw = sample_weight
    if sw is not None and dask_weight:
        sw = da.from_array(sw, chunks=97)  # chunked unlike X: rechunked
    got = SoftmaxClassifier(**params).fit(Xd, yd, sample_weight=sw)
    return expected, got


def assert_same_fit(expected, got, rtol=1e-4):
    scale = np.max(np.abs(expected.coef_))
    assert_allclose(got.coef_, expected.coef_, rtol=rtol, atol=rtol * scale)
    assert_allclose(got.intercept_, expected.intercept_, rtol=rtol,
                    atol=rtol * max(1.0, np.max(np.abs(expected.intercept_))))
    assert_array_equal(got.classes_, expected.classes_)
    assert got.coef_.dtype == expected.coef_.dtype
    assert got.n_features_in_ == expected.n_features_in_
    assert_allclose(got.loss_, expected.loss_, rtol=1e-8)


@pytest.mark.parametrize("labels", ["int", "str"])
def test_fit_matches_numpy_labels(client, labels):
    X, y = make_data()
    if labels == "str":
        y = np.array(["bird", "cat", "dog"])[y]
    assert_same_fit(*fit_both(X, y))


@pytest.mark.parametrize(
    "params",
    [
        {"C": 0.05, "class_weight": "balanced"},
        {"class_weight": {0: 3.0, 2: 0.5}, "fit_intercept": False},
        {"label_smoothing": 0.2, "C": np.inf},
        {"ignore_label": -1},
        {"C": 0.5, "l1_ratio": 0.7, "coef_bounds": (-0.05, 0.5),
         "penalty_factor": [1.0, 0.0, 2.0, 1.0]},
    ],
)
def test_fit_matches_numpy_options(client, params):
    X, y = make_data(seed=1)
    if "ignore_label" in params:
        y[::7] = -1
    sample_weight = np.random.default_rng(2).uniform(0, 3, len(y))
    expected, got = fit_both(X, y, sample_weight=sample_weight, **params)
    assert_same_fit(expected, got)


def test_numpy_weights_and_labels_with_dask_X(client):
    X, y = make_data(seed=3)
    sample_weight = np.random.default_rng(3).integers(0, 4, len(y)).astype(float)
    expected, got = fit_both(X, y.tolist(), sample_weight=sample_weight,
                             dask_weight=False)
    assert_same_fit(expected, got)


@pytest.mark.parametrize(
    "params",
    [{}, {"label_smoothing": 0.1, "class_weight": {0: 2.0, 1: 0.5}},
     {"class_weight": "balanced"}],
)
def test_soft_targets_match_numpy(client, params):
    X, y = make_data(seed=4)
    rng = np.random.default_rng(4)
    Y = 0.7 * np.eye(3)[y] + 0.3 * rng.dirichlet(np.ones(3), len(y))
    Yd = da.from_array(Y, chunks=(100, 3))
    expected = SoftmaxClassifier(**TIGHT, **params).fit(X, Y)
    got = SoftmaxClassifier(**TIGHT, **params).fit(
        da.from_array(X, chunks=(150, 4)), Yd
    )
    assert_same_fit(expected, got)


def test_float32_and_warm_start(client):
    X, y = make_data(seed=5)
    X32 = X.astype(np.float32)
    # float32 cannot reach tol=1e-10: stop where both runs still agree.
    expected, got = fit_both(X32, y, C=10.0, tol=1e-5)
    assert got.coef_.dtype == np.float32
    assert_same_fit(expected, got, rtol=2e-3)
    # Warm start from the optimum: nothing left to do.
    got.set_params(warm_start=True).fit(da.from_array(X32, chunks=100), y)
    assert got.n_iter_ <= 2
    assert_same_fit(expected, got, rtol=2e-3)


def test_predictions_are_lazy_and_match_numpy(client):
    X, y = make_data(seed=6)
    y = np.array(["a", "b", "c"])[y]
    clf = SoftmaxClassifier().fit(X, y)
    Xd = da.from_array(X, chunks=(128, 4))
    for method in ["predict", "predict_proba", "predict_log_proba",
                   "decision_function"]:
        lazy = getattr(clf, method)(Xd)
        assert isinstance(lazy, da.Array), method
        assert lazy.chunks[0] == Xd.chunks[0]
        expected = getattr(clf, method)(X)
        if method == "predict":
            assert_array_equal(lazy.compute(), expected)
        else:
            assert_allclose(lazy.compute(), expected, rtol=1e-12, atol=1e-12)
    # Usable in a dask.array pipeline, e.g. a lazy accuracy.
    accuracy = (clf.predict(Xd) == da.from_array(y, chunks=128)).mean()
    assert_allclose(accuracy.compute(), clf.score(X, y))
    # Unknown row chunks and several column blocks: still lazy, same values.
    Xm = da.from_array(X, chunks=(100, 2))
    Xm = Xm[Xm[:, 0] > -np.inf]
    assert_allclose(clf.predict_proba(Xm).compute(), clf.predict_proba(X),
                    rtol=1e-12, atol=1e-12)
    # NumPy input still gives NumPy output.
    assert isinstance(clf.predict_proba(X), np.ndarray)
    assert isinstance(clf.predict(X), np.ndarray)


def test_two_classes_fit_and_1d_decision_function(client):
    X, y = make_data(n_classes=2, seed=7)
    expected, got = fit_both(X, y)
    assert_same_fit(expected, got)
    scores = expected.decision_function(da.from_array(X, chunks=100))
    assert scores.ndim == 1
    assert_allclose(scores.compute(), expected.decision_function(X), rtol=1e-12)


def test_column_chunks_and_unknown_row_chunks(client):
    X, y = make_data(seed=8)
    expected = SoftmaxClassifier(**TIGHT).fit(X, y)
    Xd = da.from_array(X, chunks=(100, 1))
    Xd = Xd[Xd[:, 0] > -np.inf]  # a boolean mask leaves the row chunks unknown
    assert np.isnan(Xd.chunks[0][0])
    got = SoftmaxClassifier(**TIGHT).fit(Xd, y)
    assert_same_fit(expected, got)


def test_streamed_fit_when_data_exceed_the_memory_budget(client, monkeypatch):
    # Data larger than the workers' memory are not persisted: every pass
    # recomputes the chunks from their source. Same result.
    from sksoftmax import _dask

    budget = _dask._memory_budget(client)
    assert 0 < budget < 1e9  # half of what the two 1 GB workers have free
    monkeypatch.setattr(_dask, "_memory_budget", lambda client: 0.0)
    X, y = make_data(seed=15)
    assert_same_fit(*fit_both(X, y, class_weight="balanced"))


def test_default_scheduler_without_client(monkeypatch):
    # As if no distributed.Client were running: Dask's threaded scheduler.
    import dask

    from sksoftmax import _dask

    monkeypatch.setattr(_dask, "_active_client", lambda: None)
    X, y = make_data(seed=9)
    with dask.config.set(scheduler="threads"):
        assert_same_fit(*fit_both(X, y))


@pytest.mark.parametrize(
    "params",
    [
        {"labels": "str", "C": 0.05, "class_weight": "balanced"},
        {"class_weight": {0: 3.0, 2: 0.5}, "fit_intercept": False},
        {"label_smoothing": 0.2, "ignore_label": -1},
        {"soft": True, "class_weight": "balanced", "label_smoothing": 0.1},
    ],
)
def test_in_process_scheduler_every_option(monkeypatch, params):
    # The same chunk functions as on a cluster, run in this process (so that
    # coverage sees them), against the in-memory fit.
    import dask

    from sksoftmax import _dask

    monkeypatch.setattr(_dask, "_active_client", lambda: None)
    params = dict(params)
    X, y = make_data(seed=21)
    if params.pop("labels", None) == "str":
        y = np.array(["bird", "cat", "dog"])[y]
    if "ignore_label" in params:
        y[::5] = -1
    if params.pop("soft", False):
        rng = np.random.default_rng(21)
        Y = 0.6 * np.eye(3)[y] + 0.4 * rng.dirichlet(np.ones(3), len(y))
        expected = SoftmaxClassifier(**TIGHT, **params).fit(X, Y)
        with dask.config.set(scheduler="synchronous"):
            got = SoftmaxClassifier(**TIGHT, **params).fit(
                da.from_array(X, chunks=(150, 4)), da.from_array(Y, chunks=(100, 3))
            )
        assert_same_fit(expected, got)
        return
    sample_weight = np.random.default_rng(22).uniform(0, 3, len(y))
    with dask.config.set(scheduler="synchronous"):
        assert_same_fit(*fit_both(X, y, sample_weight=sample_weight, **params))


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ("nan_X", ValueError, "Input X contains NaN"),
        ("neg_weight", ValueError, "sample_weight must be finite and nonnegative"),
        ("short_y", ValueError, "inconsistent numbers of samples"),
        ("one_class", ValueError, "at least 2 classes"),
        ("all_ignored", ValueError, "nothing to fit"),
        ("bad_soft", ValueError, "sum to 1 in every row"),
        ("bad_class_weight", ValueError, "class_weight has labels"),
        ("continuous_y", ValueError, "Unknown label type"),
    ],
)
def test_errors_as_for_numpy(client, change, error, match):
    X, y = make_data(n_samples=200, seed=11)
    sample_weight, params = None, {}
    if change == "nan_X":
        X[5, 1] = np.nan
    elif change == "neg_weight":
        sample_weight = da.from_array(np.full(len(y), -1.0), chunks=50)
    elif change == "short_y":
        y = y[:-1]
    elif change == "one_class":
        y = np.zeros_like(y)
    elif change == "all_ignored":
        params = {"ignore_label": 7}
        y = np.full_like(y, 7)
    elif change == "bad_soft":
        y = np.full((len(y), 3), 0.5)
    elif change == "bad_class_weight":
        params = {"class_weight": {"nope": 2.0}}
    elif change == "continuous_y":
        y = y + 0.5 * np.random.default_rng(0).random(len(y))
    clf = SoftmaxClassifier(**params)
    with pytest.raises(error, match=match):
        clf.fit(da.from_array(X, chunks=50), y, sample_weight=sample_weight)
    assert not hasattr(clf, "coef_")


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_predict_checks_n_features(client):
    X, y = make_data(seed=12)
    clf = SoftmaxClassifier(max_iter=3).fit(da.from_array(X, chunks=200), y)
    with pytest.raises(ValueError, match="X has 3 features, but"):
        clf.predict(da.from_array(X[:, :3], chunks=200))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_column_vector_y_warns(client):
    X, y = make_data(seed=13)
    with pytest.warns(Warning, match="column-vector y"):
        SoftmaxClassifier(max_iter=3).fit(da.from_array(X, chunks=200), y[:, None])


def test_import_does_not_import_dask():
    code = textwrap.dedent(
        """
        import sys
        import numpy as np
        import sksoftmax
        X = np.random.default_rng(0).normal(size=(40, 2))
        y = np.arange(40) % 2
        sksoftmax.SoftmaxClassifier().fit(X, y).predict(X)
        assert "dask" not in sys.modules, sorted(m for m in sys.modules if "dask" in m)
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_objective_is_one_map_reduce_per_evaluation(client):
    # The Dask objective (chunk kernel + tree sum + finish) equals the
    # in-memory one at an arbitrary point, not only at the optimum.
    from sksoftmax._dask import DaskRowSums
    from sksoftmax._objective import Objective, SoftmaxObjective

    X, y = make_data(seed=14)
    weights = np.random.default_rng(14).uniform(0.5, 2.0, len(y))
    mu, sigma = X.mean(axis=0), X.std(axis=0)
    ref = SoftmaxObjective(X, y, weights, 3, 0.5, True, label_smoothing=0.1,
                           mu=mu, sigma=sigma)
    Xd = da.from_array(X, chunks=(64, 4))
    obj = Objective(
        DaskRowSums(Xd, da.from_array(y, chunks=64),
                    da.from_array(weights, chunks=64), 0.1, client),
        weights.sum(), 3, 4, 0.5, True, mu=mu, sigma=sigma,
    )
    theta = np.random.default_rng(15).normal(size=ref.n_params)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, grad = obj.loss_grad(theta)
        hessian = obj.data_hessian(theta)
    ref_loss, ref_grad = ref.loss_grad(theta)
    assert_allclose(loss, ref_loss, rtol=1e-12)
    assert_allclose(grad, ref_grad, rtol=1e-10, atol=1e-12)
    # The Hessian a hard fit goes on with (chunks summed as a tree).
    ref_hessian = ref.data_hessian(theta)
    assert_allclose(hessian, ref_hessian, rtol=1e-10,
                    atol=1e-12 * np.abs(ref_hessian).max())


def test_hard_fit_takes_the_hessian_route_as_in_memory(monkeypatch):
    # Raw digits at C=100: plain L-BFGS needs over a thousand iterations to
    # tol=1e-10; both backends go on with the Hessian after 100 and reach
    # the same fit in about 120. In this process (the cluster's round trips
    # cost 80 ms an evaluation here); the chunk functions are the same.
    import dask
    from sklearn.datasets import load_digits

    from sksoftmax import _dask

    monkeypatch.setattr(_dask, "_active_client", lambda: None)
    X, y = load_digits(return_X_y=True)
    with dask.config.set(scheduler="synchronous"):
        expected, got = fit_both(X[::4], y[::4], chunks=(225, 64), C=100.0)
    assert expected.n_iter_ < 300 and got.n_iter_ < 300
    assert_same_fit(expected, got)


@pytest.mark.parametrize("when", [3, 1])
def test_client_closed_during_fit_is_a_clear_error(monkeypatch, when):
    # Issue 15: an internal "FutureCancelledError: _pack-<hash> cancelled".
    # The Client of this test is closed just before the given L-BFGS
    # evaluation: the error says so, is chained from Dask's, and the fitted
    # state is untouched.
    from sksoftmax import _dask

    X, y = make_data(n_samples=120)
    clf = SoftmaxClassifier().fit(X, y)
    before = {k: (v.copy() if isinstance(v, np.ndarray) else v)
              for k, v in clf.__dict__.items()}
    with distributed.LocalCluster(
        n_workers=1, processes=False, threads_per_worker=1, dashboard_address=":0",
    ) as cluster, distributed.Client(cluster, set_as_default=False) as own:
        original = _dask.DaskRowSums.__call__

        def closing(self, coef, intercept):
            if self.n_calls + 1 == when:
                own.close()
            return original(self, coef, intercept)

        monkeypatch.setattr(_dask, "_active_client", lambda: own)
        monkeypatch.setattr(_dask.DaskRowSums, "__call__", closing)
        with pytest.raises(RuntimeError, match=(
                rf"cancelled or lost during L-BFGS evaluation {when} .*Client "
                "closed")) as info:
            clf.fit(da.from_array(X, chunks=40), da.from_array(y, chunks=40))
    assert type(info.value.__cause__).__name__ in _dask._LOST
    assert before.keys() == clf.__dict__.keys()
    for key, value in before.items():
        np.testing.assert_array_equal(clf.__dict__[key], value)
