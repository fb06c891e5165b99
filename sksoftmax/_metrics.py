"""Metrics for soft targets: the soft cross-entropy and the expected accuracy.

With a matrix of target probabilities ``P`` (rows sum to one, columns follow
``classes_``) in place of labels, the held-out criteria become

- the **soft cross-entropy** ``sum_i s_i H(P_i, q_i) / sum_i s_i`` with
  ``H(p, q) = -sum_k p_k log q_k``, the loss the model is fitted on
  (:func:`soft_log_loss`, :data:`soft_log_loss_scorer`);
- the **expected accuracy** ``sum_i s_i P[i, predicted class of i] / sum_i
  s_i``: the probability that the prediction matches a label drawn from
  ``P_i`` (what :meth:`SoftmaxClassifier.score` returns for a 2-D ``y``).

Both reduce to scikit-learn's ``log_loss`` and ``accuracy_score`` for labels
or one-hot rows.

scikit-learn's ``cross_val_score``, ``cross_validate`` and ``GridSearchCV``
take ``P`` as ``y`` (a 2-D continuous ``y`` is split by ``KFold``). Its
``cross_val_predict`` with ``method="predict_proba"`` does not: it label-encodes
each column of a 2-D ``y`` before fitting, which turns probabilities into
integer codes. :func:`cross_val_predict_proba` is the out-of-fold prediction
that keeps them.
"""

import numpy as np
from scipy.special import xlogy
from sklearn.base import is_classifier
from sklearn.metrics import log_loss, make_scorer
from sklearn.model_selection import check_cv, cross_val_predict, cross_validate
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import (
    _check_sample_weight,
    _num_samples,
    check_consistent_length,
)

from sksoftmax._targets import prepare_targets


def n_soft_columns(y):
    """Number of columns of soft targets ``y``; 0 for labels (1-D or a column).

    Sparse matrices and DataFrames count by their ``shape``.
    """
    shape = y.shape if hasattr(y, "shape") else np.shape(y)
    return shape[1] if len(shape) == 2 and shape[1] > 1 else 0


def _soft_rows(P):
    """``P`` validated as soft targets (finite, nonnegative rows summing to 1)."""
    return prepare_targets(P, n_samples=_num_samples(P)).values


def _weights(sample_weight, n_samples):
    """Nonnegative float64 weights, ones when None."""
    weights = _check_sample_weight(sample_weight, np.empty((n_samples, 0)),
                                   dtype=np.float64)
    if np.any(weights < 0):
        raise ValueError("sample_weight must be nonnegative.")
    return weights


def soft_log_loss(y_true, y_proba, *, sample_weight=None):
    """Cross-entropy between target distributions and predicted probabilities.

    ``sum_i s_i H(P_i, q_i) / sum_i s_i`` with ``H(p, q) = -sum_k p_k log q_k``:
    the data term of the objective :class:`~sksoftmax.SoftmaxClassifier`
    minimizes, evaluated on held-out data. For a 1-D ``y_true`` of labels it
    is :func:`sklearn.metrics.log_loss`.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_classes)
        Labels, or soft targets: nonnegative rows that sum to one, columns in
        the order of the model's ``classes_``.
    y_proba : array-like of shape (n_samples, n_classes) or (n_samples,)
        Predicted probabilities (``predict_proba``). A 1-D array is the
        probability of the second of two classes, as scikit-learn's scorers
        pass it for binary problems.
    sample_weight : array-like of shape (n_samples,), default=None
        Nonnegative weight of each sample.

    Returns
    -------
    loss : float
        The weighted mean cross-entropy, in nats (lower is better).

    See Also
    --------
    soft_log_loss_scorer : This metric as a scorer, for ``GridSearchCV``.

    Notes
    -----
    Probabilities are clipped to ``[eps, 1 - eps]`` of their dtype, as
    :func:`sklearn.metrics.log_loss` does.

    Examples
    --------
    >>> import numpy as np
    >>> from sksoftmax import soft_log_loss
    >>> P = np.array([[0.8, 0.2], [0.5, 0.5]])
    >>> q = np.array([[0.8, 0.2], [0.9, 0.1]])
    >>> round(soft_log_loss(P, q), 4)
    0.8522
    """
    if not n_soft_columns(y_true):
        return float(log_loss(y_true, y_proba, sample_weight=sample_weight))
    P = _soft_rows(y_true)
    q = np.asarray(y_proba, dtype=np.float64)
    if q.ndim == 1:
        q = np.column_stack([1.0 - q, q])
    check_consistent_length(P, q)
    if q.shape != P.shape:
        raise ValueError(
            f"y_proba has {q.shape[1]} columns; the soft targets y_true have "
            f"{P.shape[1]}. Both follow the classes of the model."
        )
    eps = np.finfo(q.dtype).eps
    losses = -xlogy(P, np.clip(q, eps, 1 - eps)).sum(axis=1)
    weights = _weights(sample_weight, len(P))
    return float(np.average(losses, weights=weights))


def expected_accuracy(P, predicted, sample_weight=None):
    """``sum_i s_i P[i, predicted[i]] / sum_i s_i``: accuracy against soft targets.

    Parameters
    ----------
    P : array-like of shape (n_samples, n_classes)
        Soft targets.
    predicted : ndarray of int of shape (n_samples,)
        Column of the predicted class of each sample.
    sample_weight : array-like of shape (n_samples,), default=None
        Nonnegative weight of each sample.

    Returns
    -------
    score : float
        The probability that the prediction equals a label drawn from ``P_i``,
        averaged over the samples; the accuracy for one-hot rows.
    """
    P = _soft_rows(P)
    check_consistent_length(P, predicted)
    hits = P[np.arange(len(P)), predicted]
    return float(np.average(hits, weights=_weights(sample_weight, len(P))))


soft_log_loss_scorer = make_scorer(
    soft_log_loss, greater_is_better=False, response_method="predict_proba"
)
soft_log_loss_scorer.__doc__ = """The negated soft cross-entropy, as a scorer.

Pass it as ``scoring=soft_log_loss_scorer`` to ``GridSearchCV``,
``cross_val_score`` or ``cross_validate``. It calls ``predict_proba`` and works
with labels and with soft targets; higher is better (scikit-learn's
convention), like ``"neg_log_loss"``. Under metadata routing, request weights
on a copy (``copy.deepcopy(soft_log_loss_scorer).set_score_request(
sample_weight=True)``): the request would otherwise change this shared object.

Parameters
----------
estimator : estimator
    A fitted classifier with ``predict_proba``.
X : {array-like, sparse matrix} of shape (n_samples, n_features)
    Test samples.
y_true : array-like of shape (n_samples,) or (n_samples, n_classes)
    Labels or soft targets.
sample_weight : array-like of shape (n_samples,), default=None
    Nonnegative weight of each sample.
**kwargs : dict
    Other metadata, passed on to :func:`soft_log_loss` (it takes none).

Returns
-------
score : float
    ``-soft_log_loss(y_true, estimator.predict_proba(X))``.

See Also
--------
soft_log_loss : The metric itself.

Examples
--------
>>> from sklearn.datasets import load_iris
>>> from sklearn.model_selection import GridSearchCV
>>> from sksoftmax import SoftmaxClassifier, soft_log_loss_scorer
>>> X, y = load_iris(return_X_y=True)
>>> P = SoftmaxClassifier(C=0.1).fit(X, y).predict_proba(X)
>>> search = GridSearchCV(SoftmaxClassifier(), {"C": [0.1, 1.0]},
...                       scoring=soft_log_loss_scorer).fit(X, P)
>>> sorted(search.best_params_)
['C']
"""


def cross_val_predict_proba(estimator, X, y, *, groups=None, cv=None,
                            method="predict_proba", params=None, n_jobs=None):
    """Out-of-fold probabilities, for labels and for soft targets.

    Each sample's row comes from the model fitted on the folds that leave it
    out. For a 1-D ``y`` of labels this is scikit-learn's
    ``cross_val_predict(..., method=method)``. For soft targets (a 2-D ``y``)
    the targets reach each fit unchanged, where ``cross_val_predict`` would
    replace every column by integer codes.

    Parameters
    ----------
    estimator : estimator
        A classifier with ``method``, such as
        :class:`~sksoftmax.SoftmaxClassifier`; it is cloned for each fold.
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Data.
    y : array-like of shape (n_samples,) or (n_samples, n_classes)
        Labels or soft targets.
    groups : array-like of shape (n_samples,), default=None
        Group labels for a group splitter such as ``GroupKFold``.
    cv : int, cross-validation generator or iterable, default=None
        As in ``cross_val_predict``: None is 5 folds, ``KFold`` for soft
        targets (``StratifiedKFold`` applies to labels only; to stratify soft
        targets, pass ``cv=list(StratifiedKFold().split(X, P.argmax(axis=1)))``).
        The test folds must partition the samples.
    method : {"predict_proba", "predict_log_proba"}, default="predict_proba"
        The prediction method.
    params : dict, default=None
        Parameters of ``fit`` such as ``sample_weight``, split with the data.
    n_jobs : int, default=None
        Number of folds fitted in parallel (joblib).

    Returns
    -------
    proba : ndarray of shape (n_samples, n_classes)
        Out-of-fold predictions; columns follow ``classes_``.

    Raises
    ------
    ValueError
        If the test folds do not partition the samples, or the folds' models
        have different classes.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sksoftmax import SoftmaxClassifier, cross_val_predict_proba
    >>> X, y = load_iris(return_X_y=True)
    >>> P = SoftmaxClassifier(C=0.1).fit(X, y).predict_proba(X)  # a teacher
    >>> cross_val_predict_proba(SoftmaxClassifier(), X, P).shape
    (150, 3)
    """
    if method not in ("predict_proba", "predict_log_proba"):
        raise ValueError(
            f"method must be 'predict_proba' or 'predict_log_proba'; got {method!r}."
        )
    if not n_soft_columns(y):
        return cross_val_predict(estimator, X, y, groups=groups, cv=cv,
                                 method=method, params=params, n_jobs=n_jobs)
    cv = check_cv(cv, y, classifier=is_classifier(estimator))
    result = cross_validate(estimator, X, y, groups=groups, cv=cv, params=params,
                            n_jobs=n_jobs, return_estimator=True,
                            return_indices=True)
    tests = result["indices"]["test"]
    n_samples = _num_samples(X)
    order = np.sort(np.concatenate(tests))
    if not np.array_equal(order, np.arange(n_samples)):
        raise ValueError("cross_val_predict_proba only works for partitions: "
                         "every sample must be in exactly one test fold.")
    classes = [est.classes_ for est in result["estimator"]]
    if any(not np.array_equal(c, classes[0]) for c in classes):
        raise ValueError("The folds' models have different classes_.")
    out = np.empty((n_samples, len(classes[0])))
    for est, test in zip(result["estimator"], tests, strict=True):
        out[test] = getattr(est, method)(_safe_indexing(X, test))
    return out
