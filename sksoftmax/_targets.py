"""From the user's ``y`` to what the kernel needs: classes, targets, weights.

``y`` is either a vector of labels (any type scikit-learn accepts) or a matrix
of soft targets (rows are probability distributions over the classes). Both
end up as a :class:`Targets`: integer codes (smoothing is then applied inside
the kernel, without an ``(n_samples, n_classes)`` matrix) or a matrix of
target probabilities, plus the classes and per-sample weights.

Every rule lives here once, as a function that a backend can run on all of
its rows at once (NumPy, device arrays brought to the host) or on each chunk
of its rows and then on the gathered results (Dask): the shape of ``y``
(:func:`target_shape`), soft rows (:func:`check_soft_targets`,
:func:`soft_target_rows`), labels and ignored samples (:func:`ignored_rows`,
:func:`unique_labels`, :func:`label_classes`, :func:`label_codes`), sample
and class weights (:func:`check_sample_weight_values`, :func:`base_weights`,
:func:`targets_for_class_weight`, :func:`class_weight_vector`,
:func:`class_weighted`, :func:`class_totals`) and the
check on the weighted whole (:func:`check_two_classes`). The check of ``C``
against the weights is :meth:`sksoftmax._penalty.Penalty.strength`.
"""

import functools
import numbers
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import DataConversionWarning
from sklearn.utils import check_consistent_length
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, assert_all_finite

from sksoftmax._warnings import caller_stacklevel

# Soft-target rows must sum to one within this tolerance (then are renormalized).
_ROW_SUM_ATOL = {np.dtype(np.float32): 1e-4}
_DEFAULT_ROW_SUM_ATOL = 1e-6


class Targets:
    """Validated targets of a fit.

    Parameters
    ----------
    classes : ndarray of shape (n_classes,)
        Class labels (``classes_``).
    values : ndarray of shape (n_samples,) or (n_samples, n_classes)
        Integer codes into ``classes`` (0 for ignored samples) or target
        probabilities (label smoothing already applied).
    ignored : ndarray of bool of shape (n_samples,)
        Samples that do not enter the fit.
    kernel_smoothing : float
        Label smoothing left to the kernel (only for integer codes).
    """

    def __init__(self, classes, values, ignored, kernel_smoothing):
        self.classes = classes
        self.values = values
        self.ignored = ignored
        self.kernel_smoothing = kernel_smoothing

    @property
    def n_classes(self):
        """Number of classes."""
        return len(self.classes)

    @property
    def is_soft(self):
        """Whether the targets are a probability matrix."""
        return self.values.ndim == 2

    def class_totals(self, weights):
        """Total weight of each class under ``weights`` (:func:`class_totals`)."""
        return class_totals(self.values, weights, self.n_classes)

    def sample_weights(self, sample_weight, class_weight):
        """Per-sample float64 weights ``s_i`` (positive sum): sample times class weight.

        ``sample_weight`` is validated (or None), ``class_weight`` as in
        :class:`~sksoftmax.SoftmaxClassifier`. Ignored samples get weight zero.
        Class weights act on the targets of :func:`targets_for_class_weight`
        (smoothed labels become their matrix), as :func:`class_weighted` states.
        """
        weights = base_weights(sample_weight, self.ignored)
        if class_weight is not None:
            self.values, self.kernel_smoothing = targets_for_class_weight(
                self.values, self.n_classes, self.kernel_smoothing)
            cw = class_weight_vector(class_weight, self.classes,
                                     lambda: self.class_totals(weights))
            self.values, factor = class_weighted(self.values, cw)
            weights *= factor
        check_two_classes(self.class_totals(weights), self.classes)
        return weights


def base_weights(sample_weight, ignored):
    """Sample weights as a new float64 array (ones for None), zero where ignored."""
    weights = (np.ones(len(ignored)) if sample_weight is None
               else np.array(sample_weight, dtype=np.float64))
    weights[ignored] = 0.0
    return weights


def class_totals(values, weights, n_classes):
    """Total weight of each class: ``weights`` summed per integer code in ``values``,
    or the weighted column sums of soft targets.
    """
    if values.ndim == 2:
        return weights @ values
    return np.bincount(values, weights=weights, minlength=n_classes)


def targets_for_class_weight(values, n_classes, kernel_smoothing):
    """The targets that class weights act on, and the smoothing left to the kernel.

    Class weights act on all of a target's mass: smoothed labels become the
    smoothed one-hot matrix ``(1 - eps) onehot + eps / K`` (soft targets),
    so that label smoothing equals the smoothed soft-target matrix, class
    weights included. Other targets are returned as they are.

    Parameters
    ----------
    values : ndarray of shape (n_samples,) or (n_samples, n_classes)
        Integer codes or target probabilities (of all rows, or of a chunk).
    n_classes : int
        Number of classes ``K``.
    kernel_smoothing : float
        ``eps``, the smoothing the kernel would apply to the codes.

    Returns
    -------
    values : ndarray of shape (n_samples,) or (n_samples, n_classes)
    kernel_smoothing : float
        0 once the smoothing is in the target matrix.
    """
    if values.ndim == 2 or not kernel_smoothing:
        return values, kernel_smoothing
    smoothed = np.full((len(values), n_classes), kernel_smoothing / n_classes)
    smoothed[np.arange(len(values)), values] += 1.0 - kernel_smoothing
    return smoothed, 0.0


def class_weighted(values, class_weight):
    """Targets and per-sample factors with the class weights applied.

    Labels: the factor is the weight of the sample's class. Soft targets: the
    loss of a sample is ``sum_k cw_k t_ik (-log p_ik)``, as for the sample
    repeated once per class with weights ``t_ik`` (PyTorch's weighted
    soft-target cross-entropy): a factor ``sum_k cw_k t_ik`` on the
    re-normalized target ``cw * t_i / (cw . t_i)``.

    Parameters
    ----------
    values : ndarray of shape (n_samples,) or (n_samples, n_classes)
        Integer codes or target probabilities.
    class_weight : ndarray of shape (n_classes,)
        Weight of each class.

    Returns
    -------
    values : ndarray
        The codes unchanged, or the re-weighted probabilities (new array).
    factor : ndarray of shape (n_samples,)
        Multiplies the sample weights.
    """
    if values.ndim == 1:
        return values, class_weight[values]
    per_sample = values @ class_weight
    tilted = values * class_weight
    np.divide(tilted, per_sample[:, None], out=tilted,
              where=per_sample[:, None] > 0)
    return tilted, per_sample


def class_weight_vector(class_weight, classes, totals=None):
    """The class weights as a vector over ``classes``.

    Parameters
    ----------
    class_weight : dict or "balanced"
        ``{label: weight}`` (1 for classes not given), or ``"balanced"``:
        ``n_samples / (n_classes * count)`` with the counts (and
        ``n_samples``) the classes' total sample weights, so that integer
        weights act exactly like repeated rows; absent classes get 0.
    classes : ndarray of shape (n_classes,)
        The fit's classes.
    totals : callable, default=None
        For ``"balanced"``: returns the total weight of each class
        (:func:`class_totals` of the targets the class weights act on).

    Returns
    -------
    class_weight : ndarray of shape (n_classes,)
    """
    if isinstance(class_weight, str) and class_weight == "balanced":
        counts = totals()
        cw = np.zeros(len(counts))
        present = counts > 0
        cw[present] = counts.sum() / (len(counts) * counts[present])
        return cw
    unknown = [k for k in class_weight if k not in set(classes.tolist())]
    if unknown:
        raise ValueError(
            f"class_weight has labels {unknown!r} that are not classes of y; "
            f"the classes are {classes.tolist()!r}."
        )
    try:
        cw = np.array([float(class_weight.get(k, 1.0)) for k in classes.tolist()])
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"class_weight values must be numbers; got {class_weight!r}."
        ) from exc
    if not np.all(np.isfinite(cw) & (cw >= 0)):
        raise ValueError(
            f"class_weight values must be finite and nonnegative; got {class_weight!r}."
        )
    return cw


def check_two_classes(totals, classes):
    """Raise unless two classes or more have a positive total weight.

    Parameters
    ----------
    totals : ndarray of shape (n_classes,)
        Total weight of each class, all weights applied.
    classes : ndarray of shape (n_classes,)
        The fit's classes.
    """
    if np.count_nonzero(totals > 0) < 2:
        raise ValueError(
            "The weighted data contains only one class "
            f"({plain_label(classes[np.argmax(totals)])}); at least two classes "
            "with positive total sample weight are needed."
        )


def check_sample_weight_values(sample_weight):
    """Raise unless every sample weight is finite and nonnegative.

    Parameters
    ----------
    sample_weight : ndarray of shape (n_samples,)
        float64 sample weights (of all rows, or of a chunk of them).
    """
    if np.any(sample_weight < 0) or not np.all(np.isfinite(sample_weight)):
        raise ValueError("sample_weight must be finite and nonnegative.")


def fit_weights(targets, sample_weight, n_samples, class_weight):
    """Per-sample weights ``s_i`` of a fit, rescaled by a power of two.

    Validates ``sample_weight``, multiplies in the class weights (zero for
    ignored samples) and rescales the weights exactly (see
    :func:`rescale_weights`). Shared by every backend that has the weights in
    memory.

    Parameters
    ----------
    targets : Targets
        The fit's targets.
    sample_weight : array-like of shape (n_samples,) or None
        The user's sample weights.
    n_samples : int
        Number of rows of ``X``.
    class_weight : dict, "balanced" or None
        As in :class:`~sksoftmax.SoftmaxClassifier`.

    Returns
    -------
    weights : ndarray of shape (n_samples,)
        float64 weights with a positive sum.
    scale : float
        The power of two the weights were divided by: ``C`` counts in the
        user's units (:meth:`~sksoftmax._penalty.Penalty.strength`).
    """
    if sample_weight is not None:
        sample_weight = _check_sample_weight(
            sample_weight, np.empty((n_samples, 0)), dtype=np.float64
        )
        check_sample_weight_values(sample_weight)
    weights = targets.sample_weights(sample_weight, class_weight)
    # Same objective, weights rescaled so that their sum cannot overflow.
    return rescale_weights(weights)


def rescale_weights(weights):
    """Divide the weights by a power of two near their maximum.

    The objective ``sum_i s_i CE_i / S + ||W||^2 / (2 C S)`` is unchanged when
    every ``s_i`` is divided by ``a`` and ``C`` multiplied by ``a``. With ``a``
    a power of two both operations are exact, so ordinary weights give
    bit-identical fits, while weights near the float64 limits (``1e307``,
    ``1e-320``) no longer overflow or lose their digits in ``S``.

    Parameters
    ----------
    weights : ndarray of shape (n_samples,)
        Nonnegative finite weights with a positive maximum.

    Returns
    -------
    weights : ndarray of shape (n_samples,)
        Weights whose maximum lies in ``[1, 2)``.
    scale : float
        ``a``, the power of two; ``C`` is to be multiplied by it
        (:meth:`~sksoftmax._penalty.Penalty.strength`).
    """
    _, exponent = np.frexp(np.max(weights))
    scale = np.ldexp(1.0, int(exponent) - 1)
    if scale == 1.0:
        return weights, 1.0
    return weights / scale, float(scale)


def prepare_targets(y, *, n_samples, ignore_label=None, label_smoothing=0.0):
    """Validate ``y`` and turn it into :class:`Targets`.

    Parameters
    ----------
    y : array-like of shape (n_samples,), (n_samples, 1) or (n_samples, K)
        Labels, a column of labels (with a ``DataConversionWarning``), or soft
        targets with ``K >= 2`` columns.
    n_samples : int
        Number of rows of ``X``.
    ignore_label : object, default=None
        Label of samples to leave out of the fit.
    label_smoothing : float, default=0.0
        Smoothing ``eps``: targets ``(1 - eps) * t + eps / K``.

    Returns
    -------
    targets : Targets
    """
    check_y_given(y)
    y = _as_array(y)
    check_consistent_length(np.empty((n_samples, 0)), y)
    y = target_shape(y)
    if y.ndim == 2:
        check_soft_targets(y, ignore_label)
        values = soft_target_rows(y, label_smoothing)
        ignored = np.zeros(len(values), dtype=bool)
        return Targets(np.arange(values.shape[1]), values, ignored, 0.0)
    y = _numeric_labels(y)
    ignored = ignored_rows(y, ignore_label)
    classes = label_classes(unique_labels(y[~ignored]), np.count_nonzero(ignored),
                            len(y), ignore_label)
    return Targets(classes, label_codes(y, classes, ignored), ignored,
                   float(label_smoothing))


def check_y_given(y):
    """Raise if ``y`` is None.

    Parameters
    ----------
    y : object
        The ``y`` passed to ``fit``.
    """
    if y is None:
        raise ValueError(
            "SoftmaxClassifier requires y to be passed, but the target y is None."
        )


def target_shape(y):
    """``y`` as labels (1-D) or soft targets (2-D); a column becomes a vector.

    Parameters
    ----------
    y : array of any ndim (NumPy, Dask: anything with ``ndim``, ``shape``
        and column indexing)
        The targets.

    Returns
    -------
    y : array of 1 or 2 dimensions
        A column vector is raveled, with a ``DataConversionWarning``.
    """
    if y.ndim == 2 and y.shape[1] == 1:
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected. Please "
            "change the shape of y to (n_samples,), for example using ravel().",
            DataConversionWarning, stacklevel=caller_stacklevel(),
        )
        y = y[:, 0]
    if y.ndim not in (1, 2):
        raise ValueError(f"y must be 1-D labels or 2-D soft targets; got {y.ndim}-D.")
    return y


def _as_array(y):
    if sp.issparse(y):  # soft targets given as a sparse matrix
        return y.toarray()
    if hasattr(y, "to_numpy"):  # pandas Series / DataFrame
        y = y.to_numpy()
    y = np.asarray(y)
    if y.ndim == 0:
        raise ValueError(
            "y must be an array-like of labels or soft targets; got "
            f"{type(y.item()).__name__}."
        )
    return y



def plain_label(value):
    """A label as the user wrote it: ``5``, ``0.0``, ``'class_2'`` (no ``np.``).

    Parameters
    ----------
    value : object
        A label, possibly a NumPy scalar.

    Returns
    -------
    text : str
    """
    value = value.item() if isinstance(value, np.generic) else value
    return repr(value) if isinstance(value, str) else str(value)


def _numeric_labels(y):
    """An object array of numbers (``1`` beside ``np.int64(2)``) as numbers.

    They sort together, but scikit-learn's target checks accept an object
    array only of strings.
    """
    if y.dtype != object or not all(isinstance(v, numbers.Number)
                                    for v in y.tolist()):
        return y
    converted = np.asarray(y.tolist())
    return converted if converted.dtype.kind in "biuf" else y

def ignored_rows(y, ignore_label):
    """Samples whose label is ``ignore_label``, after checking labels are finite.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        Labels (of all rows, or of a chunk of them).
    ignore_label : object
        Label of samples to leave out; None for none.

    Returns
    -------
    ignored : ndarray of bool of shape (n_samples,)
    """
    if y.dtype.kind in "fc":
        assert_all_finite(y, input_name="y")
    if ignore_label is None:
        return np.zeros(len(y), dtype=bool)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mask = np.asarray(y == ignore_label)
    except (TypeError, ValueError):  # pragma: no cover - exotic label types
        mask = None
    if mask is None or mask.shape != y.shape or mask.dtype != bool:
        mask = np.array([label == ignore_label for label in y.tolist()], dtype=bool)
    return mask


def unique_labels(labels):
    """The sorted distinct labels; a clear error for labels of mixed types.

    Parameters
    ----------
    labels : ndarray of shape (n,)
        Labels of the kept samples (of all rows, or of a chunk of them), or
        the distinct labels of several chunks together.

    Returns
    -------
    unique : ndarray
    """
    try:
        return np.unique(labels)
    except TypeError as exc:
        error = _mixed_types_error(labels)
        if error is None:
            raise
        raise error from exc


_MANY_CLASSES = "The number of unique classes is greater than 50%"


@functools.cache
def _sklearn_warns_of_many_classes():
    """Whether this scikit-learn warns of many classes (1.7 and later)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_classification_targets(np.arange(30))
    return any(str(w.message).startswith(_MANY_CLASSES) for w in caught)


def label_classes(labels, n_ignored, n_samples, ignore_label):
    """The classes of a fit from the distinct labels of its kept samples.

    Parameters
    ----------
    labels : ndarray
        Sorted distinct labels of the kept samples (:func:`unique_labels`).
    n_ignored : int
        Number of samples with the label ``ignore_label``.
    n_samples : int
        Number of samples.
    ignore_label : object
        For the messages.

    Returns
    -------
    classes : ndarray of shape (n_classes,)
        ``labels``, checked to be classification labels of two classes or
        more.
    """
    if n_ignored == n_samples:
        raise ValueError(
            f"Every sample has the label ignore_label={ignore_label!r}; there is "
            "nothing to fit."
        )
    try:
        with warnings.catch_warnings():
            # Its "more than 50% unique" test would count the distinct
            # labels as the samples: every fit of more than 20 classes.
            warnings.filterwarnings("ignore", message=_MANY_CLASSES)
            check_classification_targets(labels)
    except (TypeError, ValueError) as exc:
        error = _mixed_types_error(labels)
        if error is None:
            raise
        raise error from exc
    n_kept = n_samples - n_ignored
    if (_sklearn_warns_of_many_classes() and n_kept > 20
            and len(labels) > round(0.5 * n_kept)):  # scikit-learn's test
        warnings.warn(
            _MANY_CLASSES + " of the number of samples. `y` could represent a "
            "regression problem, not a classification problem.",
            UserWarning, stacklevel=caller_stacklevel())
    if len(labels) < 2:
        raise ValueError(
            "This solver needs samples of at least 2 classes in the data, but "
            f"the data contains only one class: {plain_label(labels[0])}."
        )
    return labels


def _mixed_types_error(labels):
    """A TypeError naming the types of an object array's labels, or None."""
    types = ([] if labels.dtype != object
             else sorted({type(label).__name__ for label in labels.tolist()}))
    if len(types) < 2:
        return None
    return TypeError(
        f"y mixes labels of the types {', '.join(types)}, which cannot be "
        "sorted into classes; use labels of one type."
    )


def label_codes(y, classes, ignored):
    """Integer codes of the labels into ``classes``; 0 for ignored samples.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        Labels (of all rows, or of a chunk of them).
    classes : ndarray of shape (n_classes,)
        Sorted classes, which hold every kept label.
    ignored : ndarray of bool of shape (n_samples,)
        Samples left out (:func:`ignored_rows`).

    Returns
    -------
    codes : ndarray of shape (n_samples,)
    """
    codes = np.zeros(len(y), dtype=np.intp)
    codes[~ignored] = np.searchsorted(classes, y[~ignored])
    return codes


def check_soft_targets(Y, ignore_label):
    """The checks of a soft-target matrix that need no pass over its rows.

    Parameters
    ----------
    Y : array of shape (n_samples, n_classes)
        Soft targets (NumPy or Dask).
    ignore_label : object
        Must be None: soft targets have no labels.
    """
    if ignore_label is not None:
        raise ValueError(
            "ignore_label applies to label vectors; soft targets (a 2-D y) have "
            "no labels to ignore. Give such samples sample_weight=0 instead."
        )
    if Y.dtype.kind not in "biuf":
        raise ValueError(
            f"Soft targets must be numeric probabilities; got dtype {Y.dtype}."
        )
    if Y.shape[1] < 2:  # pragma: no cover - a single column is a label vector
        raise ValueError("Soft targets need at least 2 classes (columns).")


def soft_target_rows(Y, label_smoothing, first_row=None):
    """Validate, renormalize and smooth rows of soft targets.

    Parameters
    ----------
    Y : ndarray of shape (n_rows, n_classes)
        Rows of soft targets (all of them, or a chunk).
    label_smoothing : float
        ``eps``: the rows become ``(1 - eps) * t + eps / K``.
    first_row : int, default=None
        Index of the first row in the whole ``y``, for a chunk's message;
        None for the whole ``y``.

    Returns
    -------
    targets : ndarray of shape (n_rows, n_classes)
        float64 rows that sum to one.
    """
    atol = _ROW_SUM_ATOL.get(Y.dtype, _DEFAULT_ROW_SUM_ATOL)
    Y = Y.astype(np.float64)
    row_sums = Y.sum(axis=1)
    bad = ~np.isfinite(Y).all(axis=1) | (Y < 0).any(axis=1)
    bad |= ~(np.abs(row_sums - 1.0) <= atol)
    if bad.any():
        rows = np.flatnonzero(bad) + (first_row or 0)
        shown = ", ".join(map(str, rows[:10])) + (", ..." if len(rows) > 10 else "")
        where = "" if first_row is None else f" of the chunk at row {first_row}"
        raise ValueError(
            "Soft targets must be finite, nonnegative and sum to 1 in every row "
            f"(within {atol:g}); {len(rows)} rows{where} do not: {shown}."
        )
    Y /= row_sums[:, None]
    if label_smoothing:
        Y = (1.0 - label_smoothing) * Y + label_smoothing / Y.shape[1]
    return Y
