"""Array-API backend: fit and predict on PyTorch, CuPy, array-api-strict arrays.

Used when scikit-learn's ``array_api_dispatch`` is on and ``X`` is an array of
a namespace other than NumPy (see ``_backend_for`` in ``_softmax.py``). ``X``
stays in its namespace and on its device for the whole fit: the block kernel
:func:`sksoftmax._loss.block_loss_grad` runs there on row blocks. Only small
arrays cross to the host:

- per L-BFGS evaluation, the ``(K, d)`` coefficients and ``(K,)`` intercepts
  go to the device and their ``(K, d + 1)`` gradient comes back, since SciPy's
  L-BFGS-B runs on a NumPy float64 vector;
- once per fit, the labels ``y`` and ``sample_weight`` (length ``n_samples``)
  are brought to the host to find the classes and the weights with the same
  code as the NumPy backend, and the weights and targets go back to the
  device; the column statistics used for conditioning are computed on the
  device and only their ``(d,)`` results come back.

Fitted ``coef_`` and ``intercept_`` live in ``X``'s namespace and device, in
``X``'s dtype; ``classes_`` lives in ``y``'s namespace (scikit-learn's
``LogisticRegression`` convention), so string labels stay a NumPy array.

No array library is imported here: namespaces come from scikit-learn's
helpers, which use its vendored ``array_api_compat``.
"""

import numpy as np
from sklearn.externals.array_api_compat import is_array_api_obj
from sklearn.utils._array_api import (
    _is_numpy_namespace,
    _is_xp_namespace,
    _max_precision_float_dtype,
    get_namespace_and_device,
    move_to,
)
from sklearn.utils.validation import (
    check_is_fitted,
    validate_data,
)

from sksoftmax._fitter import fit_estimator
from sksoftmax._hessian import rows_hessian
from sksoftmax._loss import block_loss_grad
from sksoftmax._moments import (
    block_moments,
    mean_and_variance,
    merge_all,
    scaling_from_moments,
)
from sksoftmax._objective import Objective, row_blocks
from sksoftmax._targets import fit_weights, prepare_targets

# Rows per block on accelerators: large blocks keep the number of kernel
# launches (and of host synchronizations, one per block for the loss value)
# small. The bound is on the (rows, K) temporaries; the X block is a view.
_ACCELERATOR_BLOCK_ELEMENTS = 2**24


def handles(X):
    """Whether ``X`` is an array this backend computes with (not NumPy, Dask).

    Parameters
    ----------
    X : object
        The input passed to ``fit`` or a prediction method.

    Returns
    -------
    handled : bool
    """
    if isinstance(X, np.ndarray) or not is_array_api_obj(X):
        return False
    xp, _, _ = get_namespace_and_device(X)
    return not (_is_numpy_namespace(xp) or _is_xp_namespace(xp, "dask.array"))


def _to_host(array):
    """A NumPy copy of an array-API array (any device); other inputs unchanged."""
    if array is None or isinstance(array, np.ndarray) or not is_array_api_obj(array):
        return array
    return move_to(array, xp=np, device="cpu")


def _numpy_dtype(X, xp):
    return np.float32 if X.dtype == xp.float32 else np.float64


def _on_accelerator(xp, device):
    return _is_xp_namespace(xp, "cupy") or getattr(device, "type", "cpu") != "cpu"


def _column_stats(X, weights, fit_intercept, blocks, xp, device):
    """Weighted column centre and scale, as ``_objective.column_scaling``.

    The moments of the blocks of ``X / amax`` are computed and merged on the
    device (:mod:`sksoftmax._moments`) in its most precise float dtype
    (float64 where available: conditioning needs a clean zero variance for
    constant columns); the ``(d,)`` results are finished on the host.
    """
    dtype = _max_precision_float_dtype(xp, device)
    w = xp.astype(weights, dtype)
    w = w / xp.sum(w)
    amax = xp.astype(xp.max(xp.abs(X), axis=0), dtype)
    amax = xp.where(amax > 0, amax, xp.ones_like(amax))
    total = merge_all(
        (block_moments(xp.astype(X[rows, :], dtype) / amax, w[rows], xp)
         for rows in blocks), xp)
    mean, var = mean_and_variance(total, fit_intercept, xp)
    amax, mean, var = (_to_host(a).astype(np.float64) for a in (amax, mean, var))
    return scaling_from_moments(mean, var, amax, fit_intercept)


class DeviceRowSums:
    """The array-API backend's row sums: the kernel on the device, in blocks.

    ``row_sums(coef, intercept) -> (loss_sum, grad_coef, grad_intercept)``,
    as :class:`~sksoftmax._objective.NumpyRowSums`: the float64 host
    parameters go to the device, the gradients come back in one transfer.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        Training data of namespace ``xp`` on ``device`` (float32 or float64).
    targets : array of shape (n_samples, n_classes)
        Target probabilities (one-hot, smoothed or soft), same namespace,
        device and dtype as ``X``.
    sample_weight : array of shape (n_samples,)
        Weights ``s_i`` on the device, in ``X``'s dtype.
    n_classes : int
        Number of classes ``K``.
    xp : module
        Array namespace of ``X``.
    device : object
        Device of ``X``.
    """

    def __init__(self, X, targets, sample_weight, n_classes, xp, device):
        self.X, self.targets, self.sample_weight = X, targets, sample_weight
        self.xp, self.device = xp, device
        self.np_dtype = self.dtype = _numpy_dtype(X, xp)
        self.n_samples, self.sparse = X.shape[0], False
        self.blocks = _blocks(X.shape[0], X.shape[1], n_classes, xp, device)

    def __call__(self, coef, intercept):
        xp = self.xp
        params = [coef] if intercept is None else [coef, intercept]
        params = move_to(*(p.astype(self.np_dtype) for p in params), xp=xp,
                         device=self.device)
        coef_x, intercept_x = (params, None) if intercept is None else params
        loss = 0.0
        grad_coef = grad_intercept = None
        for rows in self.blocks:
            block_loss, g_coef, g_intercept = block_loss_grad(
                self.X[rows, :], self.targets[rows, :], self.sample_weight[rows],
                coef_x, intercept_x, xp=xp,
            )
            loss += block_loss
            if grad_coef is None:
                grad_coef, grad_intercept = g_coef, g_intercept
            else:
                grad_coef = grad_coef + g_coef
                grad_intercept = grad_intercept + g_intercept
        # One transfer for both gradients.
        grads = _to_host(xp.concat([grad_coef, grad_intercept[:, None]], axis=1))
        grads = grads.astype(np.float64)
        return loss, grads[:, :-1], grads[:, -1]

    def hessian(self, coef, intercept, mu, sigma):
        """The data term's Hessian summed over all rows, in ``theta``, on the
        device (:func:`~sksoftmax._hessian.rows_hessian`), brought back in
        float64."""
        coef, intercept, mu, sigma = move_to(
            *(None if p is None else p.astype(self.np_dtype)
              for p in (coef, intercept, mu, sigma)),
            xp=self.xp, device=self.device)
        H = rows_hessian(self.X, self.sample_weight, coef, intercept, mu,
                         sigma, xp=self.xp)
        return _to_host(H).astype(np.float64)


def _blocks(n_rows, n_cols, n_classes, xp, device):
    if _on_accelerator(xp, device):
        step = max(1, _ACCELERATOR_BLOCK_ELEMENTS // max(n_classes, 1))
        return [slice(start, min(start + step, n_rows))
                for start in range(0, n_rows, step)] or [slice(0, 0)]
    # CPU namespaces: the NumPy backend's cache-sized blocks.
    return row_blocks(n_rows, n_cols, n_classes)


def _device_targets(targets, X, xp, device):
    """The ``(n_samples, K)`` target matrix on ``X``'s device, in its dtype."""
    if targets.is_soft:  # already smoothed and renormalized on the host
        values = targets.values.astype(_numpy_dtype(X, xp))
        return move_to(values, xp=xp, device=device)
    n_classes = targets.n_classes
    codes = move_to(targets.values.astype(np.int64), xp=xp, device=device)
    ks = xp.arange(n_classes, dtype=codes.dtype, device=device)
    onehot = xp.astype(codes[:, None] == ks[None, :], X.dtype)
    eps = targets.kernel_smoothing
    if eps:
        onehot = (1.0 - eps) * onehot + eps / n_classes
    return onehot


def fit(estimator, X, y, sample_weight):
    """Fit ``estimator`` on an array-API ``X``, keeping ``X`` on its device.

    Parameters
    ----------
    estimator : SoftmaxClassifier
        The estimator to fit (its parameters are read, its fitted attributes
        set).
    X : array of shape (n_samples, n_features)
        Training data of a non-NumPy array-API namespace.
    y : array-like of shape (n_samples,) or (n_samples, n_classes)
        Labels or soft targets, of any namespace (brought to the host).
    sample_weight : array-like of shape (n_samples,) or None
        Sample weights, of any namespace (brought to the host).

    Returns
    -------
    estimator : SoftmaxClassifier
        The fitted estimator.
    """
    xp, _, device = get_namespace_and_device(X)
    X = validate_data(estimator, X, dtype=[xp.float64, xp.float32], reset=True)
    n_samples = X.shape[0]
    dtype = _numpy_dtype(X, xp)
    targets = prepare_targets(
        _to_host(y), n_samples=n_samples, ignore_label=estimator.ignore_label,
        label_smoothing=estimator.label_smoothing,
    )
    weights, weight_scale = fit_weights(
        targets, None if sample_weight is None else _to_host(sample_weight),
        n_samples, estimator.class_weight,
    )
    weights_x = move_to(weights.astype(dtype), xp=xp, device=device)
    # The data term only: the problem sets the penalty (fit_estimator).
    mu, sigma = _column_stats(X, weights_x, estimator.fit_intercept,
                              row_blocks(n_samples, X.shape[1]), xp, device)
    objective = Objective(  # the data term only: the problem sets the penalty
        DeviceRowSums(X, _device_targets(targets, X, xp, device), weights_x,
                      targets.n_classes, xp, device),
        np.sum(weights, dtype=np.float64), targets.n_classes, X.shape[1], np.inf,
        estimator.fit_intercept, mu=mu, sigma=sigma,
    )
    # No ``classes``: scikit-learn callbacks would score NumPy intermediate
    # models on device data.
    result = fit_estimator(estimator, objective, targets.class_totals(weights),
                           weight_scale=weight_scale, dtype=dtype, host=_to_host)
    estimator.classes_ = _classes_like(targets.classes, y)
    estimator.coef_, estimator.intercept_ = move_to(
        result.coef.astype(dtype), result.intercept.astype(dtype), xp=xp,
        device=device,
    )
    return estimator


def _classes_like(classes, y):
    """``classes_`` in ``y``'s namespace and device, as ``LogisticRegression``."""
    if isinstance(y, np.ndarray) or not is_array_api_obj(y):
        return classes
    xp_y, _, device_y = get_namespace_and_device(y)
    return move_to(classes, xp=xp_y, device=device_y)


def _check_same_namespace(estimator, X, xp, device):
    xp_c, _, device_c = get_namespace_and_device(estimator.coef_)
    if xp_c != xp or device_c != device:
        raise ValueError(
            f"Inputs passed to {type(estimator).__name__} must use the same "
            "namespace and the same device as those passed to fit(): the model "
            f"was fitted with {xp_c.__name__} arrays on device {device_c!r}, X is "
            f"an array of {xp.__name__} on device {device!r}. Move the estimator "
            "with "
            "sklearn.utils._array_api.move_estimator_to(estimator, xp, device)."
        )


def logits(estimator, X, post):
    """``post(X @ coef_.T + intercept_, xp)`` in ``X``'s namespace and device.

    Parameters
    ----------
    estimator : SoftmaxClassifier
        A fitted estimator whose ``coef_`` shares ``X``'s namespace and device.
    X : array of shape (n_samples, n_features)
        Samples.
    post : callable
        ``post(Z, xp)``: the prediction computed from the logits ``Z``.

    Returns
    -------
    out : array
        ``post``'s result.
    """
    check_is_fitted(estimator)
    xp, _, device = get_namespace_and_device(X)
    _check_same_namespace(estimator, X, xp, device)
    X = validate_data(estimator, X, dtype=[xp.float64, xp.float32], reset=False)
    dtype = xp.result_type(X.dtype, estimator.coef_.dtype)
    coef = xp.astype(estimator.coef_, dtype)
    Z = xp.astype(X, dtype) @ coef.T + xp.astype(estimator.intercept_, dtype)
    return post(Z, xp)


def labels_like(classes, codes):
    """``classes[codes]`` in ``codes``' namespace and device (strings: NumPy).

    Parameters
    ----------
    classes : array of shape (n_classes,)
        ``classes_``, of any namespace.
    codes : array of shape (n_samples,)
        Integer codes, of an array-API namespace.

    Returns
    -------
    labels : array of shape (n_samples,)
    """
    xp, _, device = get_namespace_and_device(codes)
    xp_c, _, device_c = get_namespace_and_device(classes)
    labels = xp_c.take(classes, move_to(codes, xp=xp_c, device=device_c), axis=0)
    if isinstance(labels, np.ndarray) and labels.dtype.kind not in "biuf":
        return labels
    return move_to(labels, xp=xp, device=device)
