"""From the user's ``y`` to what the kernel needs: classes, targets, weights.

``y`` is either a vector of labels (any type scikit-learn accepts) or a matrix
of soft targets (rows are probability distributions over the classes). Both
end up as a :class:`Targets`: integer codes (smoothing is then applied inside
the kernel, without an ``(n_samples, n_classes)`` matrix) or a matrix of
target probabilities, plus the classes and per-sample weights.
"""

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
        """Total weight of each class (soft targets: weighted column sums).

        Parameters
        ----------
        weights : ndarray of shape (n_samples,)
            Per-sample weights.

        Returns
        -------
        totals : ndarray of shape (n_classes,)
        """
        if self.is_soft:
            return weights @ self.values
        return np.bincount(self.values, weights=weights, minlength=self.n_classes)

    def sample_weights(self, sample_weight, class_weight):
        """Per-sample weights ``s_i``: sample weight times class weight.

        Ignored samples get weight zero.

        Parameters
        ----------
        sample_weight : ndarray of shape (n_samples,) or None
            Validated nonnegative sample weights.
        class_weight : dict, "balanced" or None
            As in :class:`~sksoftmax.SoftmaxClassifier`.

        Returns
        -------
        weights : ndarray of shape (n_samples,)
            float64 weights with a positive sum.
        """
        n_samples = len(self.values)
        weights = (np.ones(n_samples) if sample_weight is None
                   else np.array(sample_weight, dtype=np.float64))
        weights[self.ignored] = 0.0
        if class_weight is not None:
            weights *= self._per_sample_class_weight(class_weight, weights)
        totals = self.class_totals(weights)
        if np.count_nonzero(totals > 0) < 2:
            raise ValueError(
                "The weighted data contains only one class "
                f"({self.classes[np.argmax(totals)]!r}); at least two classes "
                "with positive total sample weight are needed."
            )
        return weights

    def _per_sample_class_weight(self, class_weight, weights):
        if not self.is_soft and self.kernel_smoothing:
            # Smoothed labels are soft targets; class weights then act on all
            # of the target's mass, as below, so that label smoothing equals
            # the smoothed soft-target matrix, class weights included.
            eps, n_classes = self.kernel_smoothing, self.n_classes
            smoothed = np.full((len(self.values), n_classes), eps / n_classes)
            smoothed[np.arange(len(self.values)), self.values] += 1.0 - eps
            self.values, self.kernel_smoothing = smoothed, 0.0
        if class_weight == "balanced":
            # n_samples / (n_classes * count), with counts and n_samples taken
            # from the sample weights, so that integer weights act exactly
            # like repeated rows.
            totals = self.class_totals(weights)
            cw = np.zeros(self.n_classes)
            present = totals > 0
            cw[present] = totals.sum() / (self.n_classes * totals[present])
        else:
            cw = _class_weight_vector(class_weight, self.classes)
        if not self.is_soft:
            return cw[self.values]
        # Soft targets: the loss of a sample is sum_k cw_k t_ik (-log p_ik), as
        # for the sample repeated once per class with weights t_ik (PyTorch's
        # weighted soft-target cross-entropy). That is a sample weight
        # sum_k cw_k t_ik on the re-normalized target cw * t_i / (cw . t_i).
        per_sample = self.values @ cw
        tilted = self.values * cw
        np.divide(tilted, per_sample[:, None], out=tilted,
                  where=per_sample[:, None] > 0)
        self.values = tilted
        return per_sample


def _class_weight_vector(class_weight, classes):
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


def fit_weights(targets, sample_weight, n_samples, class_weight, C):
    """Per-sample weights ``s_i`` of a fit and the ``C`` that goes with them.

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
    C : float
        The user's inverse regularization strength.

    Returns
    -------
    weights : ndarray of shape (n_samples,)
        float64 weights with a positive sum.
    C : float
        ``C`` scaled like the weights: the objective is unchanged.
    """
    if sample_weight is not None:
        sample_weight = _check_sample_weight(
            sample_weight, np.empty((n_samples, 0)), dtype=np.float64
        )
        if np.any(sample_weight < 0) or not np.all(np.isfinite(sample_weight)):
            raise ValueError("sample_weight must be finite and nonnegative.")
    weights = targets.sample_weights(sample_weight, class_weight)
    # Same objective, weights rescaled so that their sum cannot overflow.
    weights, scaled_C = rescale_weights(weights, C)
    # Python floats: a product that underflows or overflows warns nothing.
    if float(weights.sum()) * float(scaled_C) < 1.0 / float(np.finfo(np.float64).max):
        raise ValueError(
            f"C={C!r} is too small for these sample weights: the penalty "
            "strength 1 / (C * sum(sample_weight)) overflows float64. Use a "
            "larger C."
        )
    return weights, scaled_C


def rescale_weights(weights, C):
    """Divide the weights by a power of two near their maximum; scale ``C`` back.

    The objective ``sum_i s_i CE_i / S + ||W||^2 / (2 C S)`` is unchanged when
    every ``s_i`` is divided by ``a`` and ``C`` multiplied by ``a``. With ``a``
    a power of two both operations are exact, so ordinary weights give
    bit-identical fits, while weights near the float64 limits (``1e307``,
    ``1e-320``) no longer overflow or lose their digits in ``S``.

    Parameters
    ----------
    weights : ndarray of shape (n_samples,)
        Nonnegative finite weights with a positive maximum.
    C : float
        Inverse regularization strength (may be ``np.inf``).

    Returns
    -------
    weights : ndarray of shape (n_samples,)
        Weights whose maximum lies in ``[1, 2)``.
    C : float
        ``C`` times the same power of two (``inf`` stays ``inf``; a product
        that overflows becomes ``inf``, a penalty below float64 resolution).
    """
    _, exponent = np.frexp(np.max(weights))
    scale = np.ldexp(1.0, int(exponent) - 1)
    if scale == 1.0:
        return weights, C
    with np.errstate(over="ignore"):
        return weights / scale, float(C * scale)


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
    if y is None:
        raise ValueError(
            "SoftmaxClassifier requires y to be passed, but the target y is None."
        )
    y = _as_array(y)
    check_consistent_length(np.empty((n_samples, 0)), y)
    if y.ndim == 2 and y.shape[1] == 1:
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected. Please "
            "change the shape of y to (n_samples,), for example using ravel().",
            DataConversionWarning, stacklevel=caller_stacklevel(),
        )
        y = y[:, 0]
    if y.ndim == 2:
        return _soft_targets(y, ignore_label, label_smoothing)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D labels or 2-D soft targets; got {y.ndim}-D.")
    return _hard_targets(y, ignore_label, label_smoothing)


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


def _hard_targets(y, ignore_label, label_smoothing):
    y = _numeric_labels(y)
    if y.dtype.kind in "fc":
        assert_all_finite(y, input_name="y")
    ignored = _ignore_mask(y, ignore_label)
    if ignored.all():
        raise ValueError(
            f"Every sample has the label ignore_label={ignore_label!r}; there is "
            "nothing to fit."
        )
    kept = y[~ignored]
    try:
        check_classification_targets(kept)
        classes, codes = np.unique(kept, return_inverse=True)
    except (TypeError, ValueError) as exc:
        types = _label_types(kept)
        if len(types) > 1:
            raise TypeError(
                f"y mixes labels of the types {', '.join(types)}, which cannot be "
                "sorted into classes; use labels of one type."
            ) from exc
        raise
    if len(classes) < 2:
        raise ValueError(
            "This solver needs samples of at least 2 classes in the data, but "
            f"the data contains only one class: {plain_label(classes[0])}."
        )
    values = np.zeros(len(y), dtype=np.intp)
    values[~ignored] = codes.ravel()
    return Targets(classes, values, ignored, float(label_smoothing))


def _label_types(y):
    """Names of the Python types among the labels of an object array."""
    if y.dtype != object:
        return []
    return sorted({type(label).__name__ for label in y.tolist()})


def _ignore_mask(y, ignore_label):
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


def _soft_targets(Y, ignore_label, label_smoothing):
    if ignore_label is not None:
        raise ValueError(
            "ignore_label applies to label vectors; soft targets (a 2-D y) have "
            "no labels to ignore. Give such samples sample_weight=0 instead."
        )
    if Y.dtype.kind not in "biuf":
        raise ValueError(
            f"Soft targets must be numeric probabilities; got dtype {Y.dtype}."
        )
    n_classes = Y.shape[1]
    if n_classes < 2:  # pragma: no cover - a single column is a label vector
        raise ValueError("Soft targets need at least 2 classes (columns).")
    atol = _ROW_SUM_ATOL.get(Y.dtype, _DEFAULT_ROW_SUM_ATOL)
    Y = Y.astype(np.float64)
    row_sums = Y.sum(axis=1)
    bad = ~np.isfinite(Y).all(axis=1) | (Y < 0).any(axis=1)
    bad |= ~(np.abs(row_sums - 1.0) <= atol)
    if bad.any():
        rows = np.flatnonzero(bad)
        shown = ", ".join(map(str, rows[:10])) + (", ..." if len(rows) > 10 else "")
        raise ValueError(
            "Soft targets must be finite, nonnegative and sum to 1 in every row "
            f"(within {atol:g}); {len(rows)} rows do not: {shown}."
        )
    Y /= row_sums[:, None]
    if label_smoothing:
        Y = (1.0 - label_smoothing) * Y + label_smoothing / n_classes
    ignored = np.zeros(len(Y), dtype=bool)
    return Targets(np.arange(n_classes), Y, ignored, 0.0)
