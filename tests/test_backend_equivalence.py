"""Every backend fits the same objective: NumPy, Dask and array API (torch CPU).

The three backends prepare targets and weights, column statistics and row
sums in their own arrays; the model they fit must be the same. The grid
runs every class_weight on each run of a 12-run Plackett-Burman design of
label smoothing, ignore_label, sample_weight, fit_intercept and l1_ratio:
class weights meet every setting of the others (smoothing among them, where
the rules interact: class weights act on each class's share of the smoothed
target), and every pair of the others meets in all four combinations.
"""

import warnings
from functools import partial

import numpy as np
import pytest
from numpy.testing import assert_allclose

from sksoftmax import SoftmaxClassifier

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
torch = pytest.importorskip("torch")
sklearn = pytest.importorskip("sklearn", minversion="1.9")

from sklearn.utils._array_api import move_to  # noqa: E402

dispatch = partial(sklearn.config_context, array_api_dispatch=True)

# The 12-run Plackett-Burman design (generator + + - + + + - - - + -,
# cycled; the last run all minus), first five columns: every pair of the
# five two-level factors meets in all four combinations.
_PB12 = np.array([
    [1, 1, 0, 1, 1], [0, 1, 1, 0, 1], [1, 0, 1, 1, 0], [0, 1, 0, 1, 1],
    [0, 0, 1, 0, 1], [0, 0, 0, 1, 0], [1, 0, 0, 0, 1], [1, 1, 0, 0, 0],
    [1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [1, 0, 1, 1, 1], [0, 0, 0, 0, 0],
])
CLASS_WEIGHTS = [None, "balanced", {0: 0.5, 2: 3.0}]


def _grid():
    """Each design run with every class weight: 36 fits per backend."""
    for smoothing, ignore, weighted, intercept, l1 in _PB12:
        for cw in CLASS_WEIGHTS:
            yield pytest.param(
                dict(class_weight=cw, label_smoothing=0.15 * smoothing,
                     ignore_label=-1 if ignore else None,
                     fit_intercept=bool(intercept), l1_ratio=0.5 * l1),
                bool(weighted),
                id=f"cw={'dict' if isinstance(cw, dict) else cw}-ls={smoothing}"
                   f"-ign={ignore}-sw={weighted}-b={intercept}-l1={l1}",
            )


def _data(seed=0, n=240, d=4):
    rng = np.random.default_rng(seed)
    # Unequal classes (balanced weights matter), unscaled shifted columns.
    y = rng.choice(4, n, p=[0.5, 0.25, 0.15, 0.1])
    X = rng.normal(size=(n, d)) * [3.0, 1.0, 0.3, 10.0] + [1.0, 0.0, -0.5, 5.0]
    X[:, 0] += y
    X[:, 1] -= 0.5 * y
    sample_weight = rng.uniform(0.0, 3.0, n)
    return X, y, sample_weight


def test_design_covers_every_pair_of_factors():
    # Every pair of the five two-level factors meets in all four
    # combinations; class_weight is crossed with all of them.
    for i in range(5):
        for j in range(i + 1, 5):
            pairs = {tuple(r) for r in _PB12[:, [i, j]]}
            assert pairs == {(0, 0), (0, 1), (1, 0), (1, 1)}
    assert len({p.id for p in _grid()}) == len(_PB12) * len(CLASS_WEIGHTS)


@pytest.mark.parametrize(("params", "weighted"), list(_grid()))
def test_same_optimum_on_every_backend(params, weighted, monkeypatch):
    from sksoftmax import _dask

    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    monkeypatch.setattr(_dask, "_active_client", lambda: None)
    X, y, sw = _data()
    if params["ignore_label"] is not None:
        y = y.copy()
        y[::9] = -1
    sw = sw if weighted else None
    params = dict(params, C=0.2, tol=1e-11, max_iter=2000)
    fits = {}
    with warnings.catch_warnings():
        # The rounding floor may come before tol=1e-11: all backends stop
        # there, within float64 resolution of the optimum.
        warnings.filterwarnings("ignore", "L-BFGS")
        fits["numpy"] = SoftmaxClassifier(**params).fit(X, y, sample_weight=sw)
        with dask.config.set(scheduler="synchronous"):
            fits["dask"] = SoftmaxClassifier(**params).fit(
                da.from_array(X, chunks=(70, 4)), da.from_array(y, chunks=70),
                sample_weight=None if sw is None else da.from_array(sw, chunks=70))
        with dispatch():
            fits["torch"] = SoftmaxClassifier(**params).fit(
                torch.asarray(X), torch.asarray(y),
                sample_weight=None if sw is None else torch.asarray(sw))
    ref = fits["numpy"]
    # The backends sum in other orders, so they stop at other points within
    # tol of the optimum: equal losses to 1e-9 (a model that differs, as with
    # class weights applied before smoothing, is 1e-3 to 3e-2 off), and
    # coefficients of the standardized columns within 3e-4 (the elastic net
    # without intercept is flat along some directions; such a model differs
    # by 2e-2 or more).
    scale = X.std(axis=0)
    for name in ("dask", "torch"):
        got = fits[name]
        coef = np.asarray(move_to(got.coef_, xp=np, device="cpu"))
        intercept = np.asarray(move_to(got.intercept_, xp=np, device="cpu"))
        assert_allclose(got.loss_, ref.loss_, rtol=1e-9, err_msg=name)
        assert_allclose(coef * scale, ref.coef_ * scale, rtol=0, atol=3e-4,
                        err_msg=name)
        assert_allclose(intercept, ref.intercept_, rtol=0, atol=3e-4 * max(
            1.0, np.abs(ref.intercept_).max()), err_msg=name)
