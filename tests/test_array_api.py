"""Array-API backend: PyTorch / array-api-strict / CuPy inputs under dispatch.

Every fit is compared with the NumPy fit of the same data, which is itself
checked against scikit-learn elsewhere. CUDA and CuPy tests skip where there
is no GPU.
"""

import warnings
from functools import partial

import numpy as np
import pytest

# The backend uses sklearn.utils._array_api.move_to (1.8) and these tests
# scikit-learn's array-API estimator checks (1.9).
pytest.importorskip("sklearn", minversion="1.9")

import sklearn
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_classification
from sklearn.utils._array_api import get_namespace_and_device, move_to
from sklearn.utils.estimator_checks import (
    NamespaceAndDevice,
    check_array_api_input,
    check_array_api_input_and_values,
    check_array_api_mixed_inputs,
    check_array_api_same_namespace,
)

from sksoftmax import SoftmaxClassifier
from sksoftmax._array_api import DeviceRowSums, _column_stats
from sksoftmax._loss import block_loss_grad
from sksoftmax._objective import (
    Objective,
    SoftmaxObjective,
    column_scaling,
    row_blocks,
)

dispatch = partial(sklearn.config_context, array_api_dispatch=True)


@pytest.fixture(autouse=True)
def _scipy_array_api(monkeypatch):
    # scikit-learn refuses to dispatch unless SCIPY_ARRAY_API=1 (it asks for
    # SciPy's own array-API mode). This backend hands SciPy only NumPy arrays,
    # so the tests also run where CI did not set the variable.
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")


@pytest.fixture(scope="module", autouse=True)
def _torch_one_thread():
    # Tiny problems: PyTorch's thread pool only adds synchronization (and spins
    # on a busy machine).
    try:
        import torch
    except ImportError:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _namespace(name):
    """``(to_xp, xp_module)``: a converter from NumPy, for a namespace/device."""
    if name == "array_api_strict":
        xps = pytest.importorskip("array_api_strict")
        return (lambda a: xps.asarray(a)), xps
    if name.startswith("torch"):
        torch = pytest.importorskip("torch")
        device = name.partition(":")[2] or "cpu"
        if device == "cuda" and not torch.cuda.is_available():
            pytest.skip("PyTorch has no CUDA device here")
        return (lambda a: torch.asarray(a, device=device)), torch
    if name == "cupy":
        cupy = pytest.importorskip("cupy")
        try:
            if cupy.cuda.runtime.getDeviceCount() < 1:
                pytest.skip("CuPy sees no GPU")
        except cupy.cuda.runtime.CUDARuntimeError:
            pytest.skip("CuPy sees no GPU")
        return cupy.asarray, cupy
    raise ValueError(name)


NAMESPACES = ["array_api_strict", "torch:cpu", "torch:cuda", "cupy"]


def _to_numpy(a):
    with dispatch():
        return move_to(a, xp=np, device="cpu")


def _data(n_classes=3, n_samples=120, n_features=5, seed=0):
    X, y = make_classification(
        n_samples=n_samples, n_features=n_features, n_informative=4,
        n_redundant=0, n_classes=n_classes, random_state=seed,
    )
    # Unequal column scales, so that the conditioning matters.
    X = X * np.array([1e-2, 1.0, 10.0, 1e2, 3.0])[:n_features] + 5.0
    return X, y


def _assert_same_space(array, X):
    with dispatch():
        xp_a, _, dev_a = get_namespace_and_device(array)
        xp_x, _, dev_x = get_namespace_and_device(X)
    assert xp_a.__name__ == xp_x.__name__
    assert dev_a == dev_x


@pytest.mark.parametrize("namespace", NAMESPACES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_fit_matches_numpy(namespace, dtype, n_classes):
    to_xp, _ = _namespace(namespace)
    X, y = _data(n_classes)
    X = X.astype(dtype)
    params = dict(C=0.5, tol=1e-8, max_iter=500)
    ref = SoftmaxClassifier(**params).fit(X, y)
    Xt = to_xp(X)
    with dispatch():
        clf = SoftmaxClassifier(**params).fit(Xt, to_xp(y))
        outputs = {
            "predict": clf.predict(Xt),
            "predict_proba": clf.predict_proba(Xt),
            "predict_log_proba": clf.predict_log_proba(Xt),
            "decision_function": clf.decision_function(Xt),
        }
    # float32: the kernel runs in float32 on both sides, in different orders.
    atol = 1e-5 if dtype == np.float64 else 2e-3
    # Parameters of the centred, unit-variance columns, on which the solver's
    # tolerance is set (both fits stop somewhere within it): coef times the
    # column spread, and the intercept at the column means.
    # Compared in float64: a float32 matmul of this size sometimes raised a
    # spurious "invalid value" flag under OpenBLAS (CI, intermittently).
    coef = _to_numpy(clf.coef_).astype(np.float64)
    intercept = _to_numpy(clf.intercept_).astype(np.float64)
    ref_coef = ref.coef_.astype(np.float64)
    ref_intercept = ref.intercept_.astype(np.float64)
    X64 = X.astype(np.float64)
    scale, mean = X64.std(axis=0), X64.mean(axis=0)
    assert_allclose(coef * scale, ref_coef * scale, atol=atol)
    assert_allclose(intercept + coef @ mean, ref_intercept + ref_coef @ mean,
                    atol=atol)
    assert clf.loss_ == pytest.approx(ref.loss_, rel=1e-6 if dtype == np.float64
                                      else 1e-4)
    for name, out in outputs.items():
        _assert_same_space(out, Xt)
        expected = getattr(ref, name)(X)
        if name == "predict":
            assert_array_equal(_to_numpy(out), expected)
        else:
            assert _to_numpy(out).dtype == dtype
            assert_allclose(_to_numpy(out), expected, atol=10 * atol, rtol=atol)
    for attr in ("coef_", "intercept_"):
        _assert_same_space(getattr(clf, attr), Xt)
        assert _to_numpy(getattr(clf, attr)).dtype == dtype
    _assert_same_space(clf.classes_, Xt)  # y was of the same namespace


@pytest.mark.parametrize("namespace", ["array_api_strict", "torch:cpu", "torch:cuda"])
@pytest.mark.parametrize(
    "params",
    [
        dict(class_weight="balanced"),
        dict(class_weight={0: 3.0, 2: 0.5}, fit_intercept=False),
        dict(label_smoothing=0.2),
        dict(ignore_label=1, C=np.inf),
        dict(l1_ratio=0.6, C=0.3, positive=True,
             penalty_factor=[1.0, 0.5, 0.0, 2.0, 1.0]),
        dict(l1_ratio=1.0, coef_bounds=(-0.1, 0.2), class_weight="balanced"),
    ],
    ids=["balanced", "dict-no-intercept", "smoothing", "ignore-unpenalized",
         "elastic-net-positive", "l1-bounds"],
)
def test_options_match_numpy(namespace, params):
    to_xp, _ = _namespace(namespace)
    X, y = _data(3)
    sw = np.random.RandomState(1).uniform(0.0, 2.0, size=len(y))
    params = dict(params, tol=1e-8, max_iter=500)
    ref = SoftmaxClassifier(**params).fit(X, y, sample_weight=sw)
    with dispatch(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # C=inf on separable data may not converge
        clf = SoftmaxClassifier(**params).fit(to_xp(X), to_xp(y),
                                              sample_weight=to_xp(sw))
    assert_array_equal(_to_numpy(clf.classes_), ref.classes_)
    assert_allclose(_to_numpy(clf.coef_), ref.coef_, rtol=1e-5, atol=1e-5)
    assert_allclose(_to_numpy(clf.intercept_), ref.intercept_, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("namespace", ["array_api_strict", "torch:cpu", "torch:cuda"])
def test_soft_targets_match_numpy(namespace):
    to_xp, _ = _namespace(namespace)
    X, y = _data(3)
    rng = np.random.RandomState(0)
    Y = 0.7 * np.eye(3)[y] + 0.3 * rng.dirichlet(np.ones(3), size=len(y))
    ref = SoftmaxClassifier(tol=1e-8, label_smoothing=0.1).fit(X, Y)
    with dispatch():
        clf = SoftmaxClassifier(tol=1e-8, label_smoothing=0.1).fit(to_xp(X), to_xp(Y))
    assert_array_equal(_to_numpy(clf.classes_), [0, 1, 2])
    scale = X.std(axis=0)
    assert_allclose(_to_numpy(clf.coef_) * scale, ref.coef_ * scale, atol=1e-5)


@pytest.mark.parametrize("namespace", ["array_api_strict", "torch:cpu"])
def test_labels_from_numpy_and_strings(namespace):
    # classes_ lives in y's namespace (as LogisticRegression's); labels are
    # moved to X's namespace, except strings, which only NumPy holds.
    to_xp, _ = _namespace(namespace)
    X, y = _data(3)
    names = np.array(["cat", "dog", "emu"])[y]
    Xt = to_xp(X)
    with dispatch():
        clf = SoftmaxClassifier().fit(Xt, names)
        pred = clf.predict(Xt)
        clf_int = SoftmaxClassifier().fit(Xt, y + 10)
        pred_int = clf_int.predict(Xt)
    ref = SoftmaxClassifier().fit(X, names)
    ref_int = SoftmaxClassifier().fit(X, y + 10)
    assert isinstance(clf.classes_, np.ndarray)
    assert isinstance(pred, np.ndarray)
    assert_array_equal(pred, ref.predict(X))
    assert isinstance(clf_int.classes_, np.ndarray)
    _assert_same_space(pred_int, Xt)
    assert_array_equal(_to_numpy(pred_int), ref_int.predict(X))


@pytest.mark.parametrize("namespace", ["array_api_strict", "torch:cpu"])
def test_warm_start_from_device_coefficients(namespace):
    to_xp, _ = _namespace(namespace)
    X, y = _data(3)
    Xt, yt = to_xp(X), to_xp(y)
    with dispatch():
        clf = SoftmaxClassifier(tol=1e-8, max_iter=500).fit(Xt, yt)
        clf.set_params(warm_start=True).fit(Xt, yt)
    # Restarted at the optimum: nothing left to do.
    assert clf.n_iter_ <= 1


@pytest.mark.parametrize("namespace", ["array_api_strict", "torch:cpu"])
def test_huge_weights_and_move_to_numpy(namespace):
    # Weights near the float64 limit are rescaled as in the NumPy backend; a
    # model fitted on the device moves to NumPy with scikit-learn's helper.
    from sklearn.utils._array_api import move_estimator_to

    to_xp, _ = _namespace(namespace)
    X, y = _data(3)
    sw = np.random.RandomState(0).uniform(1.0, 2.0, size=len(y)) * 1e306
    ref = SoftmaxClassifier(C=1e-300).fit(X, y, sample_weight=sw)
    with dispatch():
        clf = SoftmaxClassifier(C=1e-300).fit(to_xp(X), to_xp(y),
                                              sample_weight=to_xp(sw))
        clf_np = move_estimator_to(clf, np, "cpu")
    assert np.all(np.isfinite(clf_np.coef_))
    assert_allclose(clf_np.coef_, ref.coef_, rtol=1e-6, atol=1e-9)
    assert_array_equal(clf_np.predict(X), ref.predict(X))


def test_dispatch_off_is_unchanged():
    torch = pytest.importorskip("torch")
    X, y = _data(3)
    ref = SoftmaxClassifier().fit(X, y)
    clf = SoftmaxClassifier().fit(torch.asarray(X), torch.asarray(y))
    assert isinstance(clf.coef_, np.ndarray)
    assert_array_equal(clf.coef_, ref.coef_)
    assert_array_equal(clf.predict(torch.asarray(X)), ref.predict(X))
    # NumPy inputs under dispatch take the NumPy path too.
    with dispatch():
        clf_np = SoftmaxClassifier().fit(X, y)
    assert isinstance(clf_np.coef_, np.ndarray)
    assert_array_equal(clf_np.coef_, ref.coef_)


def test_other_namespace_at_predict_raises():
    torch = pytest.importorskip("torch")
    xps = pytest.importorskip("array_api_strict")
    X, y = _data(3)
    with dispatch():
        clf = SoftmaxClassifier().fit(torch.asarray(X), torch.asarray(y))
        with pytest.raises(ValueError, match="same namespace and the same device"):
            clf.predict(xps.asarray(X))
        with pytest.raises(ValueError, match=r"predict_proba\(\) must use the same"):
            clf.predict_proba(X)


@pytest.mark.parametrize("namespace", NAMESPACES)
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_objective_and_stats_match_numpy(namespace, fit_intercept):
    # The device objective gives the NumPy objective's value and gradient at
    # the same theta, with the same conditioning statistics.
    to_xp, _ = _namespace(namespace)
    X, y = _data(3, n_samples=50)
    X[:, 1] = 7.0  # a constant column
    rng = np.random.RandomState(0)
    w = rng.uniform(0.5, 1.5, size=len(y))
    mu, sigma = column_scaling(X, w, fit_intercept)
    Xt, wt = to_xp(X), to_xp(w)
    with dispatch():
        xp, _, device = get_namespace_and_device(Xt)
        mu_x, sigma_x = _column_stats(Xt, wt, fit_intercept, row_blocks(50, 5), xp,
                                      device)
        ref = SoftmaxObjective(X, y, w, 3, 2.0, fit_intercept, mu=mu, sigma=sigma)
        obj = Objective(
            DeviceRowSums(Xt, to_xp(np.eye(3)[y]), wt, 3, xp, device), w.sum(),
            3, X.shape[1], 2.0, fit_intercept, mu=mu_x, sigma=sigma_x,
        )
        theta = rng.normal(size=ref.n_params)
        loss, grad = obj.loss_grad(theta)
        hessian = obj.data_hessian(theta)
    assert_allclose(mu_x, mu, rtol=1e-12, atol=1e-12)
    assert_allclose(sigma_x, sigma, rtol=1e-12)
    ref_loss, ref_grad = ref.loss_grad(theta)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    assert_allclose(grad, ref_grad, rtol=1e-10, atol=1e-12)
    # The Hessian a hard fit goes on with: the same on the device.
    ref_hessian = ref.data_hessian(theta)
    assert_allclose(hessian, ref_hessian, rtol=1e-10,
                    atol=1e-12 * np.abs(ref_hessian).max())


@pytest.mark.parametrize("namespace", ["array_api_strict", "torch:cpu"])
def test_kernel_generic_path_matches_numpy(namespace):
    # The xp path of the kernel (2-D targets) against its NumPy integer path.
    to_xp, _ = _namespace(namespace)
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 4))
    codes = rng.randint(0, 3, size=40)
    s = rng.uniform(size=40)
    W, b = rng.normal(size=(3, 4)), rng.normal(size=3)
    eps = 0.1
    T = (1 - eps) * np.eye(3)[codes] + eps / 3
    ref = block_loss_grad(X, codes, s, W, b, label_smoothing=eps)
    with dispatch():
        xp, _, _ = get_namespace_and_device(to_xp(X))
        out = block_loss_grad(to_xp(X), to_xp(T), to_xp(s), to_xp(W), to_xp(b),
                              xp=xp)
    assert out[0] == pytest.approx(ref[0], rel=1e-12)
    assert_allclose(_to_numpy(out[1]), ref[1], rtol=1e-12, atol=1e-14)
    assert_allclose(_to_numpy(out[2]), ref[2], rtol=1e-12, atol=1e-14)


SKLEARN_CHECKS = [
    ("array_api_strict", "CPU_DEVICE", "float64", True),
    ("array_api_strict", "device1", "float32", False),
    ("torch", "cpu", "float64", True),
    ("torch", "cpu", "float32", False),
    ("torch", "cuda", "float64", True),
    ("torch", "cuda", "float32", False),
    ("cupy", None, None, False),
]


@pytest.mark.parametrize(("namespace", "device", "dtype", "values"), SKLEARN_CHECKS)
def test_sklearn_array_api_checks(namespace, device, dtype, values):
    # scikit-learn's own array-API estimator checks (they skip themselves when
    # the namespace or device is missing); with values: same results as NumPy.
    if values:
        check_array_api_input_and_values(
            "SoftmaxClassifier", SoftmaxClassifier(), namespace, device,
            dtype_name=dtype, check_sample_weight=True,
        )
    else:
        check_array_api_input(
            "SoftmaxClassifier", SoftmaxClassifier(), namespace, device, dtype
        )


def test_sklearn_mixed_namespace_and_same_namespace_checks():
    # X from PyTorch, y and sample_weight from array-api-strict on another device.
    check_array_api_mixed_inputs(
        "SoftmaxClassifier", SoftmaxClassifier(),
        X_ns_and_device=NamespaceAndDevice("torch", "cpu"),
        other_ns_and_device=NamespaceAndDevice("array_api_strict", "device1"),
    )
    # Fitted on array-api-strict, every prediction method refuses NumPy input.
    check_array_api_same_namespace(
        "SoftmaxClassifier", SoftmaxClassifier(), "array_api_strict"
    )
