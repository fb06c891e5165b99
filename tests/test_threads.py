"""Threads: the fit's own pool over row blocks, BLAS limits, concurrent use.

Predictions and fits from several threads at once equal the serial ones; a fit
with several threads gives the same bits as with one.
"""

import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from sksoftmax import SoftmaxClassifier

METHODS = ["predict", "predict_proba", "predict_log_proba", "decision_function"]


@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize("container", [np.asarray, sp.csr_matrix])
def test_predict_from_several_threads(n_classes, container):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 6))
    y = rng.integers(0, n_classes, size=300)
    est = SoftmaxClassifier().fit(X, y)
    chunks = [container(X[i::8]) for i in range(8)]
    serial = {m: [getattr(est, m)(c) for c in chunks] for m in METHODS}
    state = {k: np.copy(v) for k, v in vars(est).items() if isinstance(v, np.ndarray)}

    jobs = [(m, i) for _ in range(4) for m in METHODS for i in range(len(chunks))]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda job: getattr(est, job[0])(chunks[job[1]]),
                                jobs))
    for (method, i), result in zip(jobs, results, strict=True):
        assert_array_equal(result, serial[method][i], err_msg=method)
    # Predicting never writes to the estimator.
    for name, value in state.items():
        assert_array_equal(getattr(est, name), value, err_msg=name)


def test_fits_of_separate_estimators_in_threads_match_serial():
    # Different estimators fitted concurrently (e.g. a grid search with a
    # threading backend) give the same bits as fitted one after the other.
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 5))
    y = rng.integers(0, 3, size=120)
    Cs = [0.01, 0.1, 1.0, 10.0, np.inf, 0.5]
    serial = [SoftmaxClassifier(C=C).fit(X, y).coef_ for C in Cs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(lambda C: SoftmaxClassifier(C=C).fit(X, y).coef_, Cs))
    for a, b in zip(serial, threaded, strict=True):
        assert_array_equal(a, b)


def test_sparse_fit_in_another_thread_has_the_same_loss_curve():
    # A sparse block can hold more than 10,000 rows, where OpenBLAS splits a
    # dot product over its threads; a BLAS limit set from a non-main thread,
    # after the main thread set and restored one, does not hold (OpenBLAS
    # 0.3.31). The loss must not depend on it: same bits in any thread.
    rng = np.random.default_rng(0)
    X = sp.random(20000, 20, density=0.02, random_state=1, format="csr") * 10
    y = rng.integers(0, 10, 20000)

    def fit():
        return SoftmaxClassifier(max_iter=4).fit(X, y)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        in_main = fit()
        with ThreadPoolExecutor(max_workers=1) as pool:
            in_thread = pool.submit(fit).result()
    assert_array_equal(in_main.loss_curve_, in_thread.loss_curve_)
    assert_array_equal(in_main.coef_, in_thread.coef_)


def test_blas_limited_inside_fit_and_restored_after():
    # SciPy's own BLAS pool runs on one thread while L-BFGS runs (no pool
    # fights), NumPy's keeps its threads for the products, and the previous
    # sizes come back, also after concurrent fits.
    from threadpoolctl import threadpool_info

    from sksoftmax._threads import limit_blas

    def blas_threads():
        return {i["filepath"]: i["num_threads"] for i in threadpool_info()
                if i["user_api"] == "blas"}

    before = blas_threads()
    with limit_blas() as limited, limit_blas():
        assert limited
        assert all(blas_threads()[p] == 1 for p in limited)
        assert all("scipy" in p for p in limited)
        assert all(n == before[p] for p, n in blas_threads().items()
                   if p not in limited)
    assert blas_threads() == before
    seen = []
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(200, 4)), rng.integers(0, 3, size=200)
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda _: seen.append(SoftmaxClassifier().fit(X, y).n_iter_),
                      range(8)))
    assert len(seen) == 8
    assert blas_threads() == before


# ---------------------------------------------------------------------------
# The fit's own threads (sksoftmax/_executor.py)


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of a few rows, so that small problems have many of them."""
    from sksoftmax import _objective

    monkeypatch.setattr(_objective, "_BLOCK_ELEMENTS", 256)
    monkeypatch.setattr(_objective, "_MOMENT_BLOCK_ELEMENTS", 64)
    monkeypatch.setattr(_objective, "_SPARSE_BLOCK_VALUES", 64)


def _with_threads(monkeypatch, n):
    """Pretend the process may use ``n`` CPUs (the BLAS cap still applies)."""
    from sksoftmax import _executor

    monkeypatch.setattr(_executor, "usable_cpus", lambda: n)


def _problem(container=np.asarray, dtype=np.float64, n=600, d=7, k=4, seed=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.1, 10, d) + rng.normal(size=d)
    X[rng.random((n, d)) < 0.3] = 0.0
    y = rng.integers(0, k, size=n)
    return container(X.astype(dtype)), y


def _record_executors(monkeypatch):
    """Record, at the end of each fit, the executor and the threads it ran."""
    from sksoftmax import _executor

    seen = []
    close = _executor.RowExecutor.close

    def recording_close(self):
        seen.append((self.n_threads, self.threads))
        close(self)

    monkeypatch.setattr(_executor.RowExecutor, "close", recording_close)
    return seen


CONTAINERS = [np.asarray, sp.csr_matrix, sp.csc_matrix]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("container", CONTAINERS)
def test_threaded_fits_are_bit_identical_and_match_one_block(
        monkeypatch, small_blocks, container, dtype):
    X, y = _problem(container, dtype)
    seen = _record_executors(monkeypatch)
    fits = {}
    for n_threads in (1, 3, 3, 4):
        _with_threads(monkeypatch, n_threads)
        with threadpool_limits(4):
            est = SoftmaxClassifier(C=0.5).fit(X, y)
        fits.setdefault(n_threads, []).append(est)
    # The threads were really used, and joined at the end of each fit.
    assert [n for n, _ in seen] == [1, 3, 3, 4]
    assert [len(threads) for _, threads in seen] == [0, 2, 2, 3]
    assert not any(t.is_alive() for _, threads in seen for t in threads)
    # Same bits whatever the number of threads and their timing: the blocks
    # do not depend on the threads and are summed in block order.
    reference = fits[1][0]
    for est in [*fits[3], *fits[4]]:
        assert_array_equal(est.coef_, reference.coef_)
        assert_array_equal(est.intercept_, reference.intercept_)
        assert est.n_iter_ == reference.n_iter_
    # And the same model, to rounding, as one block in one thread.
    monkeypatch.undo()
    one_block = SoftmaxClassifier(C=0.5).fit(X, y)
    tol = 2e-3 if dtype == np.float32 else 1e-6
    assert_allclose(reference.predict_proba(X), one_block.predict_proba(X),
                    atol=tol)
    assert reference.coef_.dtype == dtype


def test_user_cap_through_threadpoolctl(monkeypatch, small_blocks):
    # Our threads replace BLAS's: they follow the BLAS limits the user (or
    # joblib's workers) set, and never exceed the usable CPUs.
    from sksoftmax._executor import available_threads

    X, y = _problem()
    _with_threads(monkeypatch, 8)
    with threadpool_limits(3):
        assert available_threads() == 3
    with threadpool_limits(16):
        assert available_threads() == 8
    seen = _record_executors(monkeypatch)
    with threadpool_limits(1):
        SoftmaxClassifier().fit(X, y)
    with threadpool_limits(2):
        SoftmaxClassifier().fit(X, y)
    assert [(n, len(threads)) for n, threads in seen] == [(1, 0), (2, 1)]


def test_every_blas_at_one_thread_inside_fit_and_restored(monkeypatch, small_blocks):
    from threadpoolctl import threadpool_info

    from sksoftmax import _objective

    def blas_threads():
        return {i["filepath"]: i["num_threads"] for i in threadpool_info()
                if i["user_api"] == "blas"}

    inside = []
    kernel = _objective.block_loss_grad

    def spying_kernel(*args, **kwargs):
        inside.append(blas_threads())
        return kernel(*args, **kwargs)

    monkeypatch.setattr(_objective, "block_loss_grad", spying_kernel)
    _with_threads(monkeypatch, 3)
    X, y = _problem()
    with threadpool_limits(3):
        before = blas_threads()
        SoftmaxClassifier().fit(X, y)
        assert blas_threads() == before
    assert inside and all(set(d.values()) == {1} for d in inside)
    assert set(before.values()) == {3}


def test_concurrent_threaded_fits_match_serial(monkeypatch, small_blocks):
    # Fits running at once in several threads, each with its own pool, give
    # the bits of the same fits run one after the other, leave no thread
    # running and restore the BLAS limits.
    from threadpoolctl import threadpool_info

    _with_threads(monkeypatch, 2)
    X, y = _problem(n=300)
    Xs = sp.csr_matrix(X)
    jobs = [(X, 0.1), (Xs, 1.0), (X, np.inf), (Xs, 0.5), (X, 2.0), (Xs, 0.2)]
    serial = [SoftmaxClassifier(C=C).fit(data, y).coef_ for data, C in jobs]
    before = threadpool_info()
    n_threads = threading.active_count()
    with ThreadPoolExecutor(max_workers=3) as pool:
        threaded = list(pool.map(
            lambda job: SoftmaxClassifier(C=job[1]).fit(job[0], y).coef_, jobs))
    for a, b in zip(serial, threaded, strict=True):
        assert_array_equal(a, b)
    assert threading.active_count() == n_threads
    assert threadpool_info() == before


@pytest.mark.parametrize("container", CONTAINERS)
def test_threaded_predictions_match_formula(monkeypatch, small_blocks, container):
    # Large inputs are predicted block by block on short-lived threads; the
    # results are those of the formulas on the whole matrix.
    from scipy.special import log_softmax

    _with_threads(monkeypatch, 3)
    X, y = _problem(container, n=500, k=3)
    est = SoftmaxClassifier().fit(X, y)
    dense = X.toarray() if sp.issparse(X) else X
    Z = dense @ est.coef_.T + est.intercept_
    n_threads = threading.active_count()
    with threadpool_limits(3):
        assert_allclose(est.decision_function(X), Z, rtol=1e-12, atol=1e-12)
        assert_allclose(est.predict_log_proba(X), log_softmax(Z, axis=1),
                        rtol=1e-12, atol=1e-12)
        assert_allclose(est.predict_proba(X), np.exp(log_softmax(Z, axis=1)),
                        rtol=1e-12, atol=1e-14)
        assert_array_equal(est.predict(X), est.classes_[np.argmax(Z, axis=1)])
    assert threading.active_count() == n_threads
    # Two classes: scikit-learn's one-column decision function.
    y2 = y % 2
    est2 = SoftmaxClassifier().fit(X, y2)
    Z2 = dense @ est2.coef_.T + est2.intercept_
    assert_allclose(est2.decision_function(X), Z2[:, 1] - Z2[:, 0], rtol=1e-12,
                    atol=1e-12)
