"""Soft targets, label smoothing and the ignore label: their defining equivalences.

Each feature is checked against a fit that expresses the same objective with
plain labels and weights, and (where PyTorch is installed) against PyTorch's
``CrossEntropyLoss`` definition of the loss.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_classification
from sklearn.exceptions import DataConversionWarning

from sksoftmax import SoftmaxClassifier

TIGHT = dict(tol=1e-10, max_iter=5000)


def make_data(n_samples=90, n_classes=3, seed=0):
    X, y = make_classification(n_samples=n_samples, n_features=5, n_informative=4,
                               n_redundant=0, n_classes=n_classes,
                               random_state=seed)
    rng = np.random.RandomState(seed)
    Y = rng.dirichlet(np.ones(n_classes) * 0.7, size=n_samples)
    return X, y, Y


def expand(X, Y, sample_weight=None):
    """Each row repeated once per class, weighted by its target probability."""
    n_samples, n_classes = Y.shape
    sw = np.ones(n_samples) if sample_weight is None else sample_weight
    X_rep = X[np.repeat(np.arange(n_samples), n_classes)]
    y_rep = np.tile(np.arange(n_classes), n_samples)
    return X_rep, y_rep, (Y * sw[:, None]).ravel()


def assert_same_model(a, b, atol=1e-6):
    scale = max(1.0, np.abs(b.coef_).max())
    assert_allclose(a.coef_, b.coef_, atol=atol * scale)
    assert_allclose(a.intercept_, b.intercept_, atol=atol * scale)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("class_weight", [None, {0: 2.0, 1: 0.5}, "balanced"])
def test_soft_targets_equal_expanded_rows(sparse, weighted, class_weight):
    X, _, Y = make_data()
    sw = np.random.RandomState(1).uniform(0.2, 2, len(X)) if weighted else None
    X_rep, y_rep, w_rep = expand(X, Y, sw)
    if sparse:
        X, X_rep = sp.csr_matrix(X), sp.csr_matrix(X_rep)
    params = dict(class_weight=class_weight, C=0.7, **TIGHT)
    soft = SoftmaxClassifier(**params).fit(X, Y, sample_weight=sw)
    expanded = SoftmaxClassifier(**params).fit(X_rep, y_rep, sample_weight=w_rep)
    assert_array_equal(soft.classes_, np.arange(3))
    assert_same_model(soft, expanded)
    assert_allclose(soft.loss_, expanded.loss_, rtol=1e-9)


def test_one_hot_soft_targets_equal_labels():
    X, y, _ = make_data()
    hard = SoftmaxClassifier(**TIGHT).fit(X, y)
    soft = SoftmaxClassifier(**TIGHT).fit(X, np.eye(3)[y])
    assert_same_model(soft, hard)
    assert_array_equal(soft.predict(X), hard.predict(X))


def test_soft_targets_float32_and_warm_start():
    X, _, Y = make_data()
    ref = SoftmaxClassifier(**TIGHT).fit(X, Y)
    clf = SoftmaxClassifier(tol=1e-6, max_iter=1000).fit(X.astype(np.float32), Y)
    assert clf.coef_.dtype == np.float32
    assert_allclose(clf.coef_, ref.coef_, atol=2e-3)
    warm = SoftmaxClassifier(warm_start=True, **TIGHT).fit(X, Y)
    warm.fit(X, Y)
    assert warm.n_iter_ <= 3
    assert_same_model(warm, ref)


@pytest.mark.parametrize("eps", [0.05, 0.3])
@pytest.mark.parametrize("class_weight", [None, {0: 3.0}, "balanced"])
def test_label_smoothing_equals_smoothed_soft_targets(eps, class_weight):
    X, y, _ = make_data(n_classes=4)
    sw = np.random.RandomState(3).uniform(0.5, 2, len(y))
    smoothed = (1 - eps) * np.eye(4)[y] + eps / 4
    params = dict(C=2.0, class_weight=class_weight, **TIGHT)
    by_param = SoftmaxClassifier(label_smoothing=eps, **params)
    by_param.fit(X, y, sample_weight=sw)
    by_matrix = SoftmaxClassifier(**params).fit(X, smoothed, sample_weight=sw)
    assert_same_model(by_param, by_matrix)
    assert_allclose(by_param.loss_, by_matrix.loss_, rtol=1e-9)


def test_label_smoothing_applies_to_soft_targets():
    X, _, Y = make_data()
    eps = 0.2
    a = SoftmaxClassifier(label_smoothing=eps, **TIGHT).fit(X, Y)
    b = SoftmaxClassifier(**TIGHT).fit(X, (1 - eps) * Y + eps / 3)
    assert_same_model(a, b)


@pytest.mark.parametrize("labels, ignore", [
    (np.array([0, 1, 2]), -1),
    (np.array(["cat", "dog", "emu"], dtype=object), "unlabeled"),
])
@pytest.mark.parametrize("sparse", [False, True])
def test_ignore_label_equals_dropping_rows(labels, ignore, sparse):
    X, y, _ = make_data(n_samples=120)
    y = labels[y]
    drop = np.random.RandomState(4).rand(len(y)) < 0.3
    y[drop] = ignore
    sw = np.random.RandomState(5).uniform(0.5, 2, len(y))
    Xf = sp.csr_matrix(X) if sparse else X
    params = dict(class_weight="balanced", label_smoothing=0.1, **TIGHT)
    ignored = SoftmaxClassifier(ignore_label=ignore, **params)
    ignored.fit(Xf, y, sample_weight=sw)
    kept = ~drop
    dropped = SoftmaxClassifier(**params).fit(Xf[kept], y[kept],
                                              sample_weight=sw[kept])
    assert_array_equal(ignored.classes_, labels)
    assert ignore not in ignored.classes_.tolist()
    assert_same_model(ignored, dropped)
    assert_allclose(ignored.loss_, dropped.loss_, rtol=1e-9)


def test_semi_supervised_minus_one_convention():
    X, y, _ = make_data(n_samples=60)
    y = y.copy()
    y[::3] = -1
    clf = SoftmaxClassifier(ignore_label=-1).fit(X, y)
    assert_array_equal(clf.classes_, [0, 1, 2])
    assert set(clf.predict(X)) <= {0, 1, 2}


def test_all_samples_ignored_raises():
    X, _, _ = make_data(n_samples=10)
    with pytest.raises(ValueError, match="ignore_label"):
        SoftmaxClassifier(ignore_label=7).fit(X, np.full(10, 7))


def test_ignore_label_with_soft_targets_raises():
    X, _, Y = make_data(n_samples=10)
    with pytest.raises(ValueError, match="ignore_label"):
        SoftmaxClassifier(ignore_label=-1).fit(X, Y)


@pytest.mark.parametrize("bad_row, value", [(2, -0.1), (5, np.nan), (7, 0.9)])
def test_invalid_soft_targets_name_rows(bad_row, value):
    X, _, Y = make_data(n_samples=10)
    Y = Y.copy()
    Y[bad_row, 0] = value
    with pytest.raises(ValueError, match=rf"rows do not: {bad_row}\b"):
        SoftmaxClassifier().fit(X, Y)


def test_column_vector_is_a_label_vector():
    X, y, _ = make_data()
    with pytest.warns(DataConversionWarning):
        column = SoftmaxClassifier().fit(X, y[:, None])
    flat = SoftmaxClassifier().fit(X, y)
    assert_array_equal(column.coef_, flat.coef_)


def _torch_objective(torch, clf, X, target, **loss_kwargs):
    Z = torch.from_numpy(np.asarray(X @ clf.coef_.T + clf.intercept_))
    return torch.nn.functional.cross_entropy(Z, target, **loss_kwargs).item()


@pytest.mark.parametrize("eps", [0.0, 0.15])
def test_loss_matches_pytorch_cross_entropy(eps):
    torch = pytest.importorskip("torch")
    X, y, Y = make_data()
    y = y.copy()
    y[::4] = -100  # PyTorch's default ignore_index
    # C = inf: loss_ is the mean cross-entropy alone, PyTorch's "mean" reduction.
    params = dict(C=np.inf, max_iter=5)
    clf = SoftmaxClassifier(ignore_label=-100, label_smoothing=eps, **params)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
        soft = SoftmaxClassifier(label_smoothing=eps, **params).fit(X, Y)
    expected = _torch_objective(torch, clf, X, torch.from_numpy(y),
                                label_smoothing=eps, ignore_index=-100)
    assert_allclose(clf.loss_, expected, rtol=1e-12)
    expected_soft = _torch_objective(torch, soft, X, torch.from_numpy(Y),
                                     label_smoothing=eps)
    assert_allclose(soft.loss_, expected_soft, rtol=1e-12)


def test_class_weighted_soft_loss_matches_pytorch():
    torch = pytest.importorskip("torch")
    X, _, Y = make_data()
    cw = np.array([2.0, 0.5, 1.0])
    clf = SoftmaxClassifier(C=np.inf, class_weight=dict(enumerate(cw)), max_iter=5)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, Y)
    # PyTorch sums w_k t_ik (-log p_ik); our mean divides by sum_ik w_k t_ik.
    total = _torch_objective(torch, clf, X, torch.from_numpy(Y),
                             weight=torch.from_numpy(cw), reduction="sum")
    assert_allclose(clf.loss_, total / (Y @ cw).sum(), rtol=1e-12)
