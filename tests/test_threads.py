"""Predictions from several threads at once equal the serial ones."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal

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
