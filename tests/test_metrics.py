"""Soft targets in scikit-learn's model selection.

``score``, the soft cross-entropy and its scorer are checked against values
computed here by hand or by scikit-learn (``accuracy_score``, ``log_loss``);
``cross_val_score``, ``cross_validate``, ``GridSearchCV`` and the out-of-fold
probabilities against explicit loops over the same folds.
"""

import copy

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from numpy.testing import assert_allclose, assert_array_equal
from scipy.stats import entropy
from sklearn.datasets import load_iris
from sklearn.metrics import accuracy_score, get_scorer, log_loss
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    StratifiedKFold,
    check_cv,
    cross_val_predict,
    cross_val_score,
    cross_validate,
)

from sksoftmax import (
    SoftmaxClassifier,
    cross_val_predict_proba,
    soft_log_loss,
    soft_log_loss_scorer,
)

FOLDS = KFold(n_splits=4, shuffle=True, random_state=0)


@pytest.fixture(scope="module")
def soft_data():
    X, y = load_iris(return_X_y=True)
    X = X[::2]
    y = y[::2]
    # A teacher's probabilities, mixed with a little noise: no row is one-hot.
    teacher = SoftmaxClassifier(C=0.05).fit(X, y)
    rng = np.random.default_rng(0)
    P = 0.8 * teacher.predict_proba(X) + 0.2 * rng.dirichlet(np.ones(3), len(y))
    weights = rng.uniform(0.2, 3.0, len(y))
    return X, y, P, weights


def _hand_expected_accuracy(P, columns, weights):
    total = sum(w * P[i, k] for i, (k, w) in enumerate(zip(columns, weights,
                                                            strict=True)))
    return total / np.sum(weights)


def _hand_soft_log_loss(P, q, weights):
    # H(p, q) = H(p) + KL(p || q), both from SciPy.
    per_row = [entropy(p) + entropy(p, r) for p, r in zip(P, q, strict=True)]
    return np.average(per_row, weights=weights)


def test_score_is_expected_accuracy_on_soft_targets(soft_data):
    X, y, P, weights = soft_data
    clf = SoftmaxClassifier().fit(X, P)
    columns = clf.predict(X)  # classes_ is arange(3)
    assert_allclose(clf.score(X, P, sample_weight=weights),
                    _hand_expected_accuracy(P, columns, weights), rtol=1e-12)
    assert_allclose(clf.score(X, P), _hand_expected_accuracy(P, columns,
                                                              np.ones(len(y))))
    # Sparse soft targets and lists give the same.
    assert clf.score(X, sp.csr_matrix(P)) == clf.score(X, P)
    assert clf.score(X, P.tolist()) == clf.score(X, P)


@pytest.mark.parametrize("labels", [None, np.array(["b", "a", "c"])])
def test_score_on_one_hot_rows_is_the_accuracy(soft_data, labels):
    X, y, _, weights = soft_data
    y = y if labels is None else labels[y]
    clf = SoftmaxClassifier(C=0.01).fit(X, y)  # weak enough to make mistakes
    pred = clf.predict(X)
    assert accuracy_score(y, pred) < 1
    onehot = (y[:, None] == clf.classes_).astype(float)
    for w in (None, weights):
        expected = accuracy_score(y, pred, sample_weight=w)
        assert_allclose(clf.score(X, onehot, sample_weight=w), expected,
                        rtol=1e-12)
        assert_allclose(clf.score(X, y, sample_weight=w), expected, rtol=1e-12)


def test_score_refuses_soft_targets_of_another_width(soft_data):
    X, _, P, _ = soft_data
    clf = SoftmaxClassifier().fit(X, P)
    with pytest.raises(ValueError, match="4 columns of soft targets; the model "
                       "has 3 classes"):
        clf.score(X, np.c_[P, np.zeros(len(P))])
    with pytest.raises(ValueError, match="sum to 1 in every row"):
        clf.score(X, 2 * P)


def test_soft_log_loss_against_scipy_and_log_loss(soft_data):
    X, y, P, weights = soft_data
    q = SoftmaxClassifier().fit(X, P).predict_proba(X)
    assert_allclose(soft_log_loss(P, q, sample_weight=weights),
                    _hand_soft_log_loss(P, q, weights), rtol=1e-12)
    # Hard labels, as labels or one-hot rows: scikit-learn's log_loss.
    for w in (None, weights):
        expected = log_loss(y, q, sample_weight=w)
        assert_allclose(soft_log_loss(y, q, sample_weight=w), expected,
                        rtol=1e-12)
        assert_allclose(soft_log_loss(np.eye(3)[y], q, sample_weight=w),
                        expected, rtol=1e-12)
    # Two classes: a 1-D y_proba is the probability of the second class.
    P2 = np.c_[P[:, 0], 1 - P[:, 0]]
    q2 = np.c_[q[:, 0], 1 - q[:, 0]]
    assert_allclose(soft_log_loss(P2, q2[:, 1]), soft_log_loss(P2, q2))
    with pytest.raises(ValueError, match="y_proba has 2 columns; the soft "
                       "targets y_true have 3"):
        soft_log_loss(P, q2)


def test_scorer_matches_the_metric_and_neg_log_loss(soft_data):
    X, y, P, _ = soft_data
    soft = SoftmaxClassifier().fit(X, P)
    assert_allclose(soft_log_loss_scorer(soft, X, P),
                    -_hand_soft_log_loss(P, soft.predict_proba(X),
                                         np.ones(len(P))), rtol=1e-12)
    hard = SoftmaxClassifier().fit(X, y)
    assert_allclose(soft_log_loss_scorer(hard, X, y),
                    get_scorer("neg_log_loss")(hard, X, y), rtol=1e-12)
    # Two classes: scikit-learn's scorer passes one column of predict_proba.
    binary = y < 2
    P2 = np.c_[P[binary, 0], 1 - P[binary, 0]]
    clf = SoftmaxClassifier().fit(X[binary], P2)
    assert_allclose(soft_log_loss_scorer(clf, X[binary], P2),
                    -soft_log_loss(P2, clf.predict_proba(X[binary])), rtol=1e-12)


def _fold_scores(X, P, score):
    """One score per fold of FOLDS, by an explicit loop."""
    scores = []
    for train, test in FOLDS.split(X):
        clf = SoftmaxClassifier().fit(X[train], P[train])
        scores.append(score(clf, X[test], P[test]))
    return np.array(scores)


def test_cross_val_score_and_cross_validate_on_soft_targets(soft_data):
    X, _, P, _ = soft_data
    expected = _fold_scores(X, P, lambda clf, X, P: clf.score(X, P))
    assert_allclose(cross_val_score(SoftmaxClassifier(), X, P, cv=FOLDS),
                    expected, rtol=1e-12)
    result = cross_validate(SoftmaxClassifier(), X, P, cv=FOLDS,
                            scoring={"ce": soft_log_loss_scorer},
                            error_score="raise")
    assert_allclose(result["test_ce"], _fold_scores(
        X, P, lambda clf, X, P: -soft_log_loss(P, clf.predict_proba(X))),
        rtol=1e-12)


def test_default_splitter_for_soft_targets_is_kfold(soft_data):
    # scikit-learn stratifies binary / multiclass y only: a 2-D y gets KFold,
    # and StratifiedKFold refuses it; stratifying on the argmax works.
    X, y, P, _ = soft_data
    assert type(check_cv(5, P, classifier=True)) is KFold
    assert type(check_cv(5, y, classifier=True)) is StratifiedKFold
    with pytest.raises(ValueError, match="Supported target types"):
        next(StratifiedKFold(3).split(X, P))
    folds = list(StratifiedKFold(3).split(X, P.argmax(axis=1)))
    scores = cross_val_score(SoftmaxClassifier(), X, P, cv=folds)
    assert np.all(np.isfinite(scores)) and len(scores) == 3
    # Without an explicit cv, nothing is NaN either (the issue: [nan nan nan]).
    assert np.all(np.isfinite(cross_val_score(SoftmaxClassifier(), X, P,
                                              error_score="raise")))


@pytest.mark.parametrize("scoring", [None, soft_log_loss_scorer])
def test_grid_search_on_soft_targets(soft_data, scoring):
    X, _, P, _ = soft_data
    Cs = [0.01, 0.3, 100.0]
    search = GridSearchCV(SoftmaxClassifier(), {"C": Cs}, cv=FOLDS,
                          scoring=scoring, error_score="raise").fit(X, P)
    score = (
        (lambda clf, X, P: clf.score(X, P)) if scoring is None
        else (lambda clf, X, P: -soft_log_loss(P, clf.predict_proba(X)))
    )
    means = []
    for C in Cs:
        loop = []
        for train, test in FOLDS.split(X):
            clf = SoftmaxClassifier(C=C).fit(X[train], P[train])
            loop.append(score(clf, X[test], P[test]))
        means.append(np.mean(loop))
    assert_allclose(search.cv_results_["mean_test_score"], means, rtol=1e-12)
    assert search.best_params_ == {"C": Cs[int(np.argmax(means))]}


def test_sample_weight_reaches_the_soft_scorer_under_routing(soft_data):
    X, _, P, weights = soft_data
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = copy.deepcopy(soft_log_loss_scorer).set_score_request(
            sample_weight=True)
        est = SoftmaxClassifier().set_fit_request(sample_weight=True)
        result = cross_validate(est, X, P, cv=FOLDS, scoring=scorer,
                                params={"sample_weight": weights},
                                error_score="raise")
    expected = []
    for train, test in FOLDS.split(X):
        clf = SoftmaxClassifier().fit(X[train], P[train],
                                      sample_weight=weights[train])
        expected.append(-soft_log_loss(P[test], clf.predict_proba(X[test]),
                                       sample_weight=weights[test]))
    assert_allclose(result["test_score"], expected, rtol=1e-12)


@pytest.mark.parametrize("method", ["predict_proba", "predict_log_proba"])
def test_out_of_fold_probabilities_keep_soft_targets(soft_data, method):
    X, y, P, weights = soft_data
    got = cross_val_predict_proba(SoftmaxClassifier(), X, P, cv=FOLDS,
                                  method=method,
                                  params={"sample_weight": weights})
    expected = np.empty_like(P)
    for train, test in FOLDS.split(X):
        clf = SoftmaxClassifier().fit(X[train], P[train],
                                      sample_weight=weights[train])
        expected[test] = getattr(clf, method)(X[test])
    assert_allclose(got, expected, rtol=1e-12)
    # Labels: exactly scikit-learn's cross_val_predict.
    assert_array_equal(
        cross_val_predict_proba(SoftmaxClassifier(), X, y, method=method),
        cross_val_predict(SoftmaxClassifier(), X, y, method=method))


def test_why_cross_val_predict_cannot_carry_soft_targets(soft_data):
    # scikit-learn's cross_val_predict label-encodes each column of a 2-D y for
    # predict_proba: continuous rows stop summing to one (an error), and
    # two-valued columns (smoothed one-hot rows) silently become one-hot.
    X, y, P, _ = soft_data
    with pytest.raises(ValueError, match="sum to 1 in every row"):
        cross_val_predict(SoftmaxClassifier(), X, P, cv=FOLDS,
                          method="predict_proba")
    smoothed = 0.85 * np.eye(3)[y] + 0.05
    theirs = cross_val_predict(SoftmaxClassifier(), X, smoothed, cv=FOLDS,
                               method="predict_proba")
    ours = cross_val_predict_proba(SoftmaxClassifier(), X, smoothed, cv=FOLDS)
    hard = cross_val_predict_proba(SoftmaxClassifier(), X, y, cv=FOLDS)
    assert_allclose(theirs, hard, rtol=1e-6)
    assert np.max(np.abs(ours - hard)) > 0.05
    with pytest.raises(ValueError, match="only works for partitions"):
        cross_val_predict_proba(SoftmaxClassifier(), X, P,
                                cv=[(np.arange(40), np.arange(40, 60))])
    with pytest.raises(ValueError, match="method must be"):
        cross_val_predict_proba(SoftmaxClassifier(), X, P, method="predict")
