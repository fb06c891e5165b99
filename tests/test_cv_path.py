"""The path of SoftmaxClassifierCV at its default tolerance: scores and choice.

Each point of the path is solved only as tightly as its held-out score needs,
and L1 paths fit the strong rule's columns only. Neither may change what a
user reads: at the default ``tol``, every fold's score at every C agrees with
scikit-learn's ``GridSearchCV`` over ``SoftmaxClassifier(tol=1e-10)`` (each
fit from scratch, on all the columns) within 1e-4 relative, and both the
best C and the one-standard-error C (cv.glmnet's rule, computed here from
the grid search's fold scores) are the grid search's.
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits, load_wine, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.preprocessing import StandardScaler

from sksoftmax import SoftmaxClassifier, SoftmaxClassifierCV
from sksoftmax._path_tol import FLOOR, STEP, ScoreTolerance
from sksoftmax._screening import StrongRule


def dataset(name):
    if name == "wine":
        X, y = load_wine(return_X_y=True)
        return StandardScaler().fit_transform(X), y
    if name == "digits":  # raw pixel counts, 0..16
        X, y = load_digits(return_X_y=True)
        return X[::3], y[::3]
    # Unscaled columns (scales 1e-2 .. 1e2), few informative ones.
    X, y = make_classification(n_samples=600, n_features=20, n_informative=6,
                               n_classes=4, random_state=0)
    return X * np.logspace(-2, 2, 20), y


def reference_fold_scores(X, y, Cs, folds, l1_ratio):
    """Fold scores (n_folds, n_cs) of a tight grid search, from scratch."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gs = GridSearchCV(
            SoftmaxClassifier(tol=1e-10, max_iter=20_000, l1_ratio=l1_ratio),
            {"C": Cs}, cv=folds, scoring="neg_log_loss").fit(X, y)
    return np.array([gs.cv_results_[f"split{i}_test_score"]
                     for i in range(len(folds))])


def one_se_index(scores):
    """cv.glmnet's lambda.1se on a grid of increasing C: the smallest C whose
    mean score is within one standard error of the best mean."""
    mean = scores.mean(axis=0)
    se = scores.std(axis=0, ddof=1) / np.sqrt(scores.shape[0])
    best = np.argmax(mean)
    return best, np.flatnonzero(mean >= mean[best] - se[best])[0]


@pytest.mark.parametrize(("name", "l1_ratio"), [
    ("wine", 0.0), ("digits", 0.0), ("unscaled", 0.0),
    ("wine", 0.5), ("digits", 0.5), ("unscaled", 0.5),
])
def test_default_path_scores_and_choice_match_tight_grid_search(name, l1_ratio):
    # (Pure L1 on wine is left out here: at its weakest C the fit is nearly
    # separable and so flat that the tol=1e-10 reference itself stalls, 3e-4
    # off in score, on some BLAS kernels; the support test below covers L1.)
    X, y = dataset(name)
    folds = list(StratifiedKFold(4, shuffle=True, random_state=0).split(X, y))
    # The data-derived grid of this l1_ratio: for L1, from where the first
    # coefficient leaves zero (most columns screened) to a weak penalty.
    cv = SoftmaxClassifierCV(Cs=7, l1_ratios=[l1_ratio], cv=folds).fit(X, y)
    Cs = cv.Cs_[0]
    reference = reference_fold_scores(X, y, Cs, folds, l1_ratio)
    ours = cv.scores_[:, 0]
    relative = np.abs(ours - reference) / np.abs(reference)
    assert relative.max() <= 1e-4, relative.max(axis=0)
    best, se1 = one_se_index(reference)
    assert cv.C_ == Cs[best]
    one_se = SoftmaxClassifierCV(Cs=Cs, l1_ratios=[l1_ratio], cv=folds,
                                 selection="1se").fit(X, y)
    assert one_se.C_ == Cs[se1]


@pytest.mark.parametrize("rule", ["strong", "nonzero only"])
def test_screened_l1_path_has_the_supports_of_full_fits(rule, monkeypatch):
    # Every path solution has the support of SoftmaxClassifier's fit at the
    # same C on the fold (all columns, tight). "nonzero only" replaces the
    # strong rule by a useless one that keeps only the columns already
    # nonzero: the KKT check alone must then bring every other column in.
    if rule == "nonzero only":
        monkeypatch.setattr(
            StrongRule, "columns",
            lambda self, lam, coef, intercept: np.flatnonzero(
                np.any(coef != 0, axis=0)))
    X, y = dataset("wine")
    folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    cv = SoftmaxClassifierCV(Cs=6, l1_ratios=[1.0], cv=folds).fit(X, y)
    for i, (train, _) in enumerate(folds):
        for c, C in enumerate(cv.Cs_[0]):
            ref = SoftmaxClassifier(C=C, l1_ratio=1.0, tol=1e-10,
                                    max_iter=20_000).fit(X[train], y[train])
            path = cv.coefs_paths_[i, 0, c]
            big = np.abs(ref.coef_) > 1e-3 * np.abs(ref.coef_).max(initial=0.0)
            assert np.all(path[big] != 0), (i, c)
            # Columns zero in the reference for every class are zero here.
            assert np.all(path[:, np.all(ref.coef_ == 0, axis=0)] == 0), (i, c)
    reference = reference_fold_scores(X, y, cv.Cs_[0], folds, 1.0)
    relative = np.abs(cv.scores_[:, 0] - reference) / np.abs(reference)
    assert relative.max() <= 1e-4


def test_a_stage_that_did_not_move_confirms_no_score():
    # Two equal scores agree only when the second stage ran: a stage of one
    # iteration started within its tolerance, so its score repeats the last
    # one's whatever the error. The path then tries a tighter stage.
    tolerance = ScoreTolerance(1e-4)
    tol = tolerance.first()
    assert tolerance.next(tol, -0.2, None) == pytest.approx(tol / STEP)
    assert tolerance.next(tol / STEP, -0.2, -0.2,
                          moved=False) == pytest.approx(tol / STEP**2)
    assert tolerance.next(tol / STEP, -0.2, -0.2) is None
    # At the tightest stage there is nothing tighter to try.
    assert tolerance.next(FLOOR, -0.2, -0.2, moved=False) is None
