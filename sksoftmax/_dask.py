"""Dask backend: fit on and predict for Dask arrays, chunk by chunk.

Each L-BFGS evaluation is one map-reduce (Spark's ``treeAggregate`` design):
the ``(n_classes, n_features + 1)`` parameters go to the workers as one small
task, :func:`sksoftmax._loss.block_loss_grad` (the same NumPy kernel as the
in-memory fit) runs on every row chunk, and the ``(loss_sum, grad_coef,
grad_intercept)`` triples are summed in a tree. Only parameters, gradients and
per-chunk sums travel; ``X`` never reaches the client. The normalization, the
penalty and the conditioning chain rule are :meth:`SoftmaxObjective.finish`,
so the optimum is the one of the in-memory fit.

The classes, the class totals, the weights and the conditioning statistics
(weighted column means and standard deviations, merged across chunks with
Chan's parallel formula) are computed in Dask passes too. ``X`` (and the
targets and weights) are persisted once when they fit in half of the workers'
free memory; larger data are streamed from their source on every pass instead.

This module imports Dask; :func:`sksoftmax._softmax._backend_for` imports it
only when a Dask collection arrives.
"""

import os

import dask
import dask.array as da
import numpy as np
from sklearn.utils.validation import _check_feature_names, check_is_fitted

from sksoftmax._fitter import fit_estimator
from sksoftmax._hessian import rows_hessian
from sksoftmax._loss import block_loss_grad
from sksoftmax._moments import (
    block_moments,
    mean_and_variance,
    merge_all,
    scaling_from_moments,
)
from sksoftmax._objective import Objective
from sksoftmax._targets import (
    base_weights,
    check_sample_weight_values,
    check_soft_targets,
    check_two_classes,
    check_y_given,
    class_totals,
    class_weight_vector,
    class_weighted,
    ignored_rows,
    label_classes,
    label_codes,
    rescale_weights,
    soft_target_rows,
    target_shape,
    targets_for_class_weight,
    unique_labels,
)

# Fan-in of the tree reductions: few enough inputs per task to spread the sums
# over the workers, enough to keep the tree shallow.
_SPLIT_EVERY = 8
# Persist the data when it takes at most this fraction of the workers' memory
# (the rest is left for the kernel's temporaries and for other work).
_PERSIST_FRACTION = 0.5


# --------------------------------------------------------------------------
# Where to compute


def _active_client():
    """The active ``distributed.Client``, or None (then Dask's default scheduler)."""
    try:
        from distributed import get_client

        return get_client()
    except (ImportError, ValueError):
        return None


def _compute(client, *objs):
    """Compute small results (reductions) in one graph; returns them in order.

    One Delayed wraps them all: ``dask.compute`` (2026.8) returns a mix of
    Arrays and Delayed objects grouped by type, not in the order given.
    """
    packed = dask.delayed(_pack, pure=True)(*objs)
    if client is not None:
        return dask.compute(packed, scheduler=client)[0]
    return dask.compute(packed)[0]


def _pack(*results):
    return results


# Raised when a computation is cancelled, or its client, connection or worker
# goes away (distributed's classes, matched by name: distributed is optional).
_LOST = {"CancelledError", "FutureCancelledError", "ClosedClientError",
         "CommClosedError", "KilledWorker"}


def _cancelled_or_lost(exc):
    return any(cls.__name__ in _LOST for cls in type(exc).__mro__)


def _persist(client, *arrays):
    if client is not None:
        return tuple(client.persist(list(arrays)))
    return dask.persist(*arrays)


def _memory_budget(client):
    """Bytes of data we allow ourselves to persist: half of what is free."""
    if client is not None:
        try:
            try:  # distributed >= 2025 lists only 5 workers unless asked
                info = client.scheduler_info(n_workers=-1)
            except TypeError:  # pragma: no cover - older distributed
                info = client.scheduler_info()
            workers = info["workers"].values()
        except Exception:  # pragma: no cover - exotic deployments: stream
            return 0.0
        free = 0.0
        for w in workers:
            limit = w.get("memory_limit") or 0
            if not limit:  # no limit set: nothing tells us to stream
                return np.inf
            used = w.get("metrics", {}).get("memory", 0)
            free += max(limit - used, 0)
        return _PERSIST_FRACTION * free
    try:
        available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        return 0.0
    return _PERSIST_FRACTION * available


def _tree_sum(parts, merge, pure=True):
    """Reduce a list of Delayed objects with ``merge`` in a tree."""
    while len(parts) > 1:
        parts = [
            dask.delayed(merge, pure=pure)(*parts[i:i + _SPLIT_EVERY])
            for i in range(0, len(parts), _SPLIT_EVERY)
        ]
    return parts[0]


def _blocks(array):
    """Delayed row blocks of a row-chunked array with one column block."""
    return list(array.to_delayed().ravel())


# --------------------------------------------------------------------------
# Input conversion


def _as_dask_X(estimator, X, *, reset):
    """Validate a Dask ``X``: 2-D, float32/float64, one block of columns."""
    _check_feature_names(estimator, X, reset=reset)  # Dask DataFrame columns
    if hasattr(X, "to_dask_array"):  # a Dask DataFrame
        X = X.to_dask_array(lengths=reset)
    if not isinstance(X, da.Array):
        raise TypeError(
            "SoftmaxClassifier accepts Dask arrays and Dask DataFrames among Dask "
            f"collections; got {type(X).__name__}."
        )
    if not isinstance(X._meta, np.ndarray):
        raise TypeError(
            "The Dask backend needs dense NumPy chunks; got chunks of type "
            f"{type(X._meta).__name__}."
        )
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2D array, got a {X.ndim}D Dask array instead. Reshape "
            "your data with X.reshape(-1, 1) if it has a single feature."
        )
    if X.dtype.kind == "c":
        raise ValueError("Complex data not supported.")
    if X.dtype.kind not in "biuf":
        raise ValueError(f"X must hold numbers; got a Dask array of dtype {X.dtype}.")
    if X.dtype not in (np.float64, np.float32):
        X = X.astype(np.float64)
    if reset and any(np.isnan(c) for c in X.chunks[0]):
        X = X.compute_chunk_sizes()
    if len(X.chunks[1]) > 1:
        # The kernel needs whole rows. Let Dask pick the row chunks anew when
        # their sizes are known (they need not be for predict).
        known = not any(np.isnan(c) for c in X.chunks[0])
        X = X.rechunk({0: "auto", 1: -1} if known else {1: -1})
    return X


def _as_rows(a, row_chunks, name):
    """``a`` (NumPy or Dask, 1-D or 2-D) as a Dask array chunked like ``X``."""
    n_samples = int(sum(row_chunks))
    if hasattr(a, "to_dask_array"):  # Dask Series / DataFrame
        a = a.to_dask_array(lengths=True)
    elif hasattr(a, "to_numpy"):  # pandas
        a = a.to_numpy()
    if not isinstance(a, da.Array):
        a = np.asarray(a)
    elif any(np.isnan(c) for c in a.chunks[0]):
        a = a.compute_chunk_sizes()
    if a.ndim == 0 or a.shape[0] != n_samples:
        got = "a scalar" if a.ndim == 0 else a.shape[0]
        raise ValueError(
            "Found input variables with inconsistent numbers of samples: "
            f"[{n_samples}, {got}] (X and {name})."
        )
    chunks = (row_chunks, *((s,) for s in a.shape[1:]))
    if not isinstance(a, da.Array):
        return da.from_array(a, chunks=chunks)
    if a.chunks != chunks:
        a = a.rechunk(chunks)
    return a


def _meta(ndim, dtype):
    return np.empty((0,) * ndim, dtype=dtype)


# --------------------------------------------------------------------------
# Chunk functions (run on the workers; plain NumPy)


def _chunk_label_info(y, ignore_label):
    """Distinct kept labels of a chunk and its number of ignored samples."""
    ignored = ignored_rows(y, ignore_label)
    return unique_labels(y[~ignored]), int(np.count_nonzero(ignored))


def _merge_label_info(*parts):
    labels = unique_labels(np.concatenate([p[0] for p in parts]))
    return labels, sum(p[1] for p in parts)


def _chunk_codes(y, classes, ignore_label):
    return label_codes(y, classes, ignored_rows(y, ignore_label))


def _chunk_soft_targets(Y, label_smoothing, block_info=None):
    first_row = block_info[0]["array-location"][0][0] if block_info else 0
    return soft_target_rows(Y, label_smoothing, first_row)


def _chunk_weights(values, ignored, sample_weight, class_weight):
    """A chunk's weights ``s_i``, as ``Targets.sample_weights`` computes them."""
    weights = base_weights(sample_weight, np.zeros(len(values), dtype=bool)
                           if ignored is None else ignored)
    if class_weight is not None:
        weights *= class_weighted(values, class_weight)[1]
    return weights


def _chunk_class_weighted_targets(values, class_weight):
    return class_weighted(values, class_weight)[0]


def _chunk_class_weight_targets(values, n_classes, kernel_smoothing):
    return targets_for_class_weight(values, n_classes, kernel_smoothing)[0]


def _add(*parts):
    return sum(parts[1:], start=parts[0])


def _chunk_moments(X, weights, amax):
    """:func:`sksoftmax._moments.block_moments` of ``X / amax`` (float64)."""
    return block_moments(X / amax, weights)


def _merge_moments(*parts):
    return merge_all(parts)


def _chunk_loss_grad(X, targets, weights, params, label_smoothing):
    coef, intercept = params
    if targets.ndim == 2:  # probabilities enter products with the logits
        targets = targets.astype(X.dtype, copy=False)
    loss, grad_coef, grad_intercept = block_loss_grad(
        X, targets, weights.astype(X.dtype, copy=False), coef, intercept,
        label_smoothing=label_smoothing,
    )
    return (loss, grad_coef.astype(np.float64, copy=False),
            grad_intercept.astype(np.float64, copy=False))


def _chunk_hessian(X, weights, params):
    coef, intercept, mu, sigma = params
    return rows_hessian(X, weights, coef, intercept, mu, sigma)


def _chunk_post(X, coef, intercept, post):
    return post(X @ coef.T + intercept, np)


# --------------------------------------------------------------------------
# The objective


class DaskRowSums:
    """The Dask backend's row sums: one map-reduce over the chunks per call.

    ``row_sums(coef, intercept) -> (loss_sum, grad_coef, grad_intercept)``,
    as :class:`~sksoftmax._objective.NumpyRowSums`.

    Parameters
    ----------
    X : dask.array.Array of shape (n_samples, n_features)
        Row-chunked data with one column block (float64 or float32).
    targets : dask.array.Array of shape (n_samples,) or (n_samples, n_classes)
        Integer class codes or target probabilities, chunked like ``X``.
    sample_weight : dask.array.Array of shape (n_samples,)
        float64 weights ``s_i``, chunked like ``X``.
    label_smoothing : float
        Smoothing applied to integer targets inside the kernel.
    client : distributed.Client or None
        Where to compute; None uses Dask's default scheduler.
    """

    def __init__(self, X, targets, sample_weight, label_smoothing, client):
        self.dtype = X.dtype
        self.n_samples, self.sparse = X.shape[0], False  # dense chunks only
        self.label_smoothing = label_smoothing
        self.client = client
        self.n_calls = 0
        self.chunks = list(zip(_blocks(X), _blocks(targets), _blocks(sample_weight),
                               strict=True))

    def __call__(self, coef, intercept):
        self.n_calls += 1
        dtype = self.dtype
        # One small task holds the parameters; every chunk task depends on it.
        # Keys are random (pure=False): hashing costs time and buys nothing,
        # as every evaluation has new parameters.
        params = dask.delayed(_pack, pure=False)(
            coef.astype(dtype), None if intercept is None else intercept.astype(dtype),
        )
        parts = [
            dask.delayed(_chunk_loss_grad, pure=False)(
                x, t, w, params, self.label_smoothing
            )
            for x, t, w in self.chunks
        ]
        return self._compute(_tree_sum(parts, _add_triples, pure=False),
                             f"L-BFGS evaluation {self.n_calls}")

    def hessian(self, coef, intercept, mu, sigma):
        """The data term's Hessian summed over all rows, in ``theta``: each
        chunk's :func:`~sksoftmax._hessian.rows_hessian`, summed as a tree."""
        params = dask.delayed(_pack, pure=False)(coef, intercept, mu, sigma)
        parts = [dask.delayed(_chunk_hessian, pure=False)(x, w, params)
                 for x, _, w in self.chunks]
        return self._compute(_tree_sum(parts, _add, pure=False),
                             "the Hessian")

    def _compute(self, total, what):
        try:
            (total,) = _compute(self.client, total)
        except BaseException as exc:
            if not _cancelled_or_lost(exc):
                raise
            raise RuntimeError(
                f"The Dask computation was cancelled or lost during {what} "
                f"({type(exc).__name__}: {exc}). Was the Client closed or the "
                "cluster shut down during fit? The estimator keeps its "
                "previous state."
            ) from exc
        return total


def _add_triples(*parts):
    loss = sum(p[0] for p in parts)
    return (loss, _add(*(p[1] for p in parts)), _add(*(p[2] for p in parts)))


# --------------------------------------------------------------------------
# The backend interface used by SoftmaxClassifier


def fit(estimator, X, y, sample_weight):
    """Fit ``estimator`` on a Dask array (or Dask DataFrame) ``X``.

    Parameters
    ----------
    estimator : SoftmaxClassifier
        The estimator; its parameters are already validated.
    X : dask.array.Array of shape (n_samples, n_features)
        Training data, chunked along the rows.
    y : dask or NumPy array of shape (n_samples,) or (n_samples, n_classes)
        Labels or soft targets.
    sample_weight : dask or NumPy array of shape (n_samples,) or None
        Nonnegative sample weights.

    Returns
    -------
    estimator : SoftmaxClassifier
        The fitted estimator.
    """
    client = _active_client()
    X = _as_dask_X(estimator, X, reset=True)
    n_samples, n_features = X.shape
    if n_samples == 0 or n_features == 0:
        raise ValueError(
            f"Found array with {n_samples} sample(s) and {n_features} feature(s) "
            "while a minimum of 1 is required by SoftmaxClassifier."
        )
    budget = _memory_budget(client)
    if X.nbytes <= budget:
        (X,) = _persist(client, X)
    values, ignored, classes, smoothing, sw, amax = _first_pass(
        estimator, X, y, sample_weight, client
    )
    n_classes = len(classes)
    values, weights, smoothing = _sample_weights(
        values, ignored, sw, classes, smoothing, estimator.class_weight, client)
    # As the NumPy path: weights over a power of two (exact; C counts in the
    # user's units, see Penalty.strength).
    (w_max,) = _compute(client, weights.max())
    scaled, weight_scale = rescale_weights(np.array([w_max]))
    if scaled[0] != w_max:
        weights = weights * (scaled[0] / w_max)  # 1 / a power of two: exact
    if values.nbytes + weights.nbytes <= budget - min(X.nbytes, budget):
        values, weights = _persist(client, values, weights)
    totals, weight_sum, moments = _compute(
        client,
        _class_totals(values, weights, n_classes),
        weights.sum(dtype=np.float64),
        _moments(X, weights, amax),
    )
    check_two_classes(totals, classes)
    mu, sigma = _scaling(moments, amax, estimator.fit_intercept)
    objective = Objective(  # the data term only: the problem sets the penalty
        DaskRowSums(X, values, weights, smoothing, client), weight_sum,
        n_classes, n_features, np.inf, estimator.fit_intercept, mu=mu, sigma=sigma,
    )
    result = fit_estimator(estimator, objective, totals, classes=classes,
                           weight_scale=weight_scale, dtype=X.dtype)
    estimator.n_features_in_, estimator.classes_ = n_features, classes
    estimator.coef_ = result.coef.astype(X.dtype, copy=False)
    estimator.intercept_ = result.intercept.astype(X.dtype, copy=False)
    return estimator


def _first_pass(estimator, X, y, sample_weight, client):
    """Validate ``y`` and the weights; classes and column maxima in one pass.

    The rules are :mod:`sksoftmax._targets`' own, run on the chunks and on
    what they gather. Returns the lazy targets (codes or probabilities), the
    lazy mask of ignored samples (None when none is ignored), the classes,
    the label smoothing left to the kernel, the lazy sample weights (or None)
    and the column maxima.
    """
    check_y_given(y)
    row_chunks = X.chunks[0]
    y = target_shape(_as_rows(y, row_chunks, "y"))
    sw = None
    if sample_weight is not None:
        sw = _as_rows(sample_weight, row_chunks, "sample_weight")
        if sw.ndim != 1:
            raise ValueError(
                f"sample_weight must be 1-D; got shape {sw.shape}."
            )
        sw = sw.astype(np.float64)
    ignore_label = estimator.ignore_label
    todo = {"amax": da.abs(X).max(axis=0)}
    if sw is not None:
        todo["weights_checked"] = _tree_sum(
            [dask.delayed(check_sample_weight_values, pure=True)(b)
             for b in _blocks(sw)], _any)
    if y.ndim == 1:
        todo["labels"] = _tree_sum(
            [dask.delayed(_chunk_label_info, pure=True)(b, ignore_label)
             for b in _blocks(y)],
            _merge_label_info,
        )
    else:
        check_soft_targets(y, ignore_label)
    results = dict(zip(todo, _compute(client, *todo.values()), strict=True))
    amax = np.asarray(results["amax"], dtype=np.float64)
    if np.isnan(amax).any():
        raise ValueError("Input X contains NaN.")
    if np.isinf(amax).any():
        raise ValueError(
            f"Input X contains infinity or a value too large for {X.dtype!r}."
        )
    amax = np.where(amax > 0, amax, 1.0)
    if y.ndim == 2:
        values = y.map_blocks(
            _chunk_soft_targets, estimator.label_smoothing,
            dtype=np.float64, meta=_meta(2, np.float64),
        )
        return values, None, np.arange(y.shape[1]), 0.0, sw, amax
    labels, n_ignored = results["labels"]
    classes = label_classes(labels, n_ignored, X.shape[0], ignore_label)
    values = y.map_blocks(_chunk_codes, classes, ignore_label, dtype=np.intp,
                          meta=_meta(1, np.intp))
    ignored = None
    if n_ignored:
        ignored = y.map_blocks(ignored_rows, ignore_label, dtype=bool,
                               meta=_meta(1, bool))
    smoothing = float(estimator.label_smoothing)
    return values, ignored, classes, smoothing, sw, amax


def _any(*flags):
    return any(flags)


def _sample_weights(values, ignored, sw, classes, smoothing, class_weight, client):
    """Targets, weights ``s_i`` and kernel smoothing, chunk by chunk.

    The steps of :meth:`sksoftmax._targets.Targets.sample_weights`, each run
    on the chunks; ``"balanced"`` class weights from the gathered class
    totals.
    """
    if class_weight is None:
        return values, _weights(values, ignored, sw, None), smoothing
    n_classes = len(classes)
    meta, left = targets_for_class_weight(values._meta, n_classes, smoothing)
    if meta.ndim != values.ndim:
        values = values.map_blocks(
            _chunk_class_weight_targets, n_classes, smoothing, new_axis=1,
            chunks=(values.chunks[0], (n_classes,)), dtype=meta.dtype, meta=meta)
    cw = class_weight_vector(class_weight, classes, lambda: _compute(
        client, _class_totals(values, _weights(values, ignored, sw, None),
                              n_classes))[0])
    weights = _weights(values, ignored, sw, cw)
    if values.ndim == 2:  # probabilities are re-weighted, codes are not
        values = values.map_blocks(_chunk_class_weighted_targets, cw,
                                   dtype=values.dtype, meta=values._meta)
    return values, weights, left


def _weights(values, ignored, sw, class_weight):
    """Lazy per-sample weights, chunked like ``values``."""
    args = []
    for a in (values, ignored, sw):
        args += [None, None] if a is None else [a, "ij"[:a.ndim]]
    return da.blockwise(
        _chunk_weights, "i", *args, class_weight, None, concatenate=True,
        dtype=np.float64, meta=_meta(1, np.float64),
    )


def _class_totals(values, weights, n_classes):
    parts = [
        dask.delayed(class_totals, pure=True)(t, w, n_classes)
        for t, w in zip(_blocks(values), _blocks(weights), strict=True)
    ]
    return _tree_sum(parts, _add)


def _moments(X, weights, amax):
    parts = [
        dask.delayed(_chunk_moments, pure=True)(x, w, amax)
        for x, w in zip(_blocks(X), _blocks(weights), strict=True)
    ]
    return _tree_sum(parts, _merge_moments)


def _scaling(moments, amax, fit_intercept):
    """``sksoftmax._objective.column_scaling`` from the merged moments."""
    mean, var = mean_and_variance(moments, fit_intercept)
    return scaling_from_moments(mean, var, amax, fit_intercept)


def logits(estimator, X, post):
    """Lazy ``post(X @ coef_.T + intercept_, numpy)``, one task per row chunk.

    Parameters
    ----------
    estimator : SoftmaxClassifier
        A fitted estimator.
    X : dask.array.Array of shape (n_samples, n_features)
        Samples.
    post : callable
        ``post(Z, xp)``: the prediction computed from a chunk's logits ``Z``
        (1-D or 2-D; its result on an empty chunk gives the dtype and shape).

    Returns
    -------
    out : dask.array.Array of shape (n_samples,) or (n_samples, m)
    """
    check_is_fitted(estimator)
    X = _as_dask_X(estimator, X, reset=False)
    if X.shape[1] != estimator.n_features_in_:
        raise ValueError(
            f"X has {X.shape[1]} features, but {type(estimator).__name__} is "
            f"expecting {estimator.n_features_in_} features as input."
        )
    dtype = np.result_type(X.dtype, estimator.coef_.dtype)
    coef = estimator.coef_.astype(dtype)
    intercept = estimator.intercept_.astype(dtype)
    meta = post(np.empty((0, coef.shape[0]), dtype=dtype), np)
    if meta.ndim == 1:
        return X.map_blocks(_chunk_post, coef, intercept, post, drop_axis=1,
                            dtype=meta.dtype, meta=meta)
    return X.map_blocks(_chunk_post, coef, intercept, post, dtype=meta.dtype,
                        chunks=(X.chunks[0], (meta.shape[1],)), meta=meta)
