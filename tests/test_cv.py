"""SoftmaxClassifierCV against independent references.

The reference for every score is scikit-learn's ``GridSearchCV`` over
``SoftmaxClassifier`` fitted from scratch at each C (same folds), scored by
scikit-learn's own scorers; the grid and the 1-SE rule are checked against
formulas evaluated here with NumPy.
"""

import contextlib
import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from joblib import parallel_config
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import config_context
from sklearn.datasets import load_digits, load_iris, load_wine, make_classification
from sklearn.exceptions import ConvergenceWarning, UnsetMetadataPassedError
from sklearn.metrics import accuracy_score, get_scorer, log_loss, make_scorer
from sklearn.model_selection import (
    GridSearchCV,
    GroupKFold,
    KFold,
    StratifiedKFold,
    cross_val_score,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.fixes import parse_version

from sksoftmax import SoftmaxClassifier, SoftmaxClassifierCV
from sksoftmax._objective import SoftmaxObjective, column_scaling
from sksoftmax._solver import meets_tol

TIGHT = dict(tol=1e-10, max_iter=5000)


def dataset(name):
    if name == "iris":
        return load_iris(return_X_y=True)
    if name == "wine":
        return load_wine(return_X_y=True)
    if name == "synthetic":
        return make_classification(n_samples=1000, n_features=50, n_informative=10,
                                   n_classes=5, random_state=0)
    X, y = load_digits(return_X_y=True)
    X, y = X[::4], y[::4]  # 450 samples keep the test fast
    if name == "digits_std":
        X = StandardScaler().fit_transform(X)
    return X, y


def folds_of(X, y, n_splits=5):
    return list(StratifiedKFold(n_splits, shuffle=True, random_state=0).split(X, y))


def grid_search(X, y, Cs, folds, scoring="neg_log_loss", **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GridSearchCV(SoftmaxClassifier(**TIGHT, **params), {"C": Cs},
                            cv=folds, scoring=scoring).fit(X, y)


@pytest.mark.parametrize("name", ["iris", "wine", "digits", "digits_std",
                                  "synthetic"])
def test_same_choice_and_scores_as_grid_search(name):
    X, y = dataset(name)
    folds = folds_of(X, y, 3)
    n_cs = 5 if name in ("iris", "wine") else 3
    cv = SoftmaxClassifierCV(Cs=n_cs, cv=folds, **TIGHT).fit(X, y)
    gs = grid_search(X, y, cv.Cs_[0], folds)
    assert cv.C_ == gs.best_params_["C"]
    assert_allclose(cv.scores_.mean(axis=0)[0], gs.cv_results_["mean_test_score"],
                    rtol=0, atol=1e-6)
    for i in range(len(folds)):
        assert_allclose(cv.scores_[i, 0], gs.cv_results_[f"split{i}_test_score"],
                        rtol=0, atol=1e-6)
    # The refit is the fit of SoftmaxClassifier at C_.
    ref = SoftmaxClassifier(C=cv.C_, **TIGHT).fit(X, y)
    assert_allclose(cv.coef_, ref.coef_, rtol=1e-5, atol=1e-5 * np.abs(ref.coef_).max())
    assert cv.refit_n_iter_ > 0


@pytest.mark.parametrize("name", ["iris", "wine"])
def test_elastic_net_same_choice_and_scores_as_grid_search(name):
    X, y = dataset(name)
    X = StandardScaler().fit_transform(X)
    folds = folds_of(X, y, 3)
    cv = SoftmaxClassifierCV(Cs=4, l1_ratios=(0.0, 0.5, 1.0), cv=folds,
                             **TIGHT).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # Each l1_ratio on its own grid of C (one row of Cs_).
        grids = [{"l1_ratio": [r], "C": Cs}
                 for r, Cs in zip(cv.l1_ratios_, cv.Cs_, strict=True)]
        gs = GridSearchCV(SoftmaxClassifier(**TIGHT), grids, cv=folds,
                          scoring="neg_log_loss").fit(X, y)
    assert (cv.l1_ratio_, cv.C_) == (gs.best_params_["l1_ratio"],
                                     gs.best_params_["C"])
    # The pure L1 fit at the weakest C (bounded, nearly separable) agrees to
    # 2e-6 only, from either side; the rest to 1e-6.
    assert_allclose(cv.scores_.mean(axis=0).ravel(),
                    gs.cv_results_["mean_test_score"], rtol=0, atol=1e-5)


def test_l1_grid_starts_at_lambda_max():
    # glmnet's lambda_max: below the first C every coefficient is zero, just
    # above it one leaves zero (checked on SoftmaxClassifier fits).
    X, y = dataset("wine")
    X = StandardScaler().fit_transform(X)
    starts = []
    for params in [{}, {"positive": True},
                   {"penalty_factor": np.r_[0.5, np.ones(12)]}]:
        cv = SoftmaxClassifierCV(Cs=3, l1_ratios=(1.0,), cv=2, max_iter=1,
                                 **params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            C0 = cv.fit(X, y).Cs_[0, 0]
        starts.append(C0)
        below = SoftmaxClassifier(C=0.99 * C0, l1_ratio=1.0, **TIGHT, **params)
        above = SoftmaxClassifier(C=1.05 * C0, l1_ratio=1.0, **TIGHT, **params)
        assert np.count_nonzero(below.fit(X, y).coef_) == 0
        assert np.count_nonzero(above.fit(X, y).coef_) > 0
    # An elastic net with l1_ratio r keeps W = 0 up to r times that C.
    mixed = SoftmaxClassifierCV(Cs=3, l1_ratios=(0.5, 1.0), cv=2, max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert_allclose(mixed.fit(X, y).Cs_[:, 0], [0.5 * starts[0], starts[0]],
                        rtol=1e-12)


def test_bounds_and_penalty_factor_are_passed_through():
    X, y = dataset("wine")
    X = StandardScaler().fit_transform(X)
    folds = folds_of(X, y, 3)
    params = dict(positive=True, penalty_factor=np.r_[0.0, np.ones(12)])
    cv = SoftmaxClassifierCV(Cs=[0.01, 1.0], l1_ratios=(0.5,), cv=folds,
                             **TIGHT, **params).fit(X, y)
    assert np.all(cv.coefs_paths_ >= 0) and np.all(cv.coef_ >= 0)
    gs = grid_search(X, y, cv.Cs_[0], folds, l1_ratio=0.5, **params)
    assert_allclose(cv.scores_.mean(axis=0)[0], gs.cv_results_["mean_test_score"],
                    atol=1e-6)


def test_class_dependent_bounds_with_a_fold_missing_a_class():
    X, y = dataset("iris")
    lower = np.array([[-1.0], [0.0], [-np.inf]]) * np.ones((3, 4))
    cv = SoftmaxClassifierCV(Cs=[1.0], cv=KFold(3), coef_bounds=(lower, np.inf),
                             refit=False).fit(X, y)
    assert np.all(cv.coefs_paths_[:, :, :, 1] >= 0)
    assert np.all(cv.coefs_paths_[:, :, :, 0] >= -1)
    assert np.all(np.isfinite(cv.scores_))


def test_attribute_shapes_and_dtypes():
    X, y = dataset("iris")
    cv = SoftmaxClassifierCV(Cs=[0.1, 1.0, 10.0], cv=3).fit(X.astype(np.float32), y)
    assert cv.scores_.shape == (3, 1, 3)
    assert cv.n_iter_.shape == (3, 1, 3)
    assert cv.coefs_paths_.shape == (3, 1, 3, 3, 4)
    assert cv.intercepts_paths_.shape == (3, 1, 3, 3)
    assert_array_equal(cv.l1_ratios_, [0.0])
    assert isinstance(cv.C_, float) and isinstance(cv.l1_ratio_, float)
    assert cv.coef_.dtype == np.float32 and cv.coef_.shape == (3, 4)
    assert_array_equal(cv.classes_, [0, 1, 2])
    assert np.all(cv.n_iter_ > 0)


def test_cs_are_sorted_and_used_as_given():
    X, y = dataset("iris")
    cv = SoftmaxClassifierCV(Cs=[10.0, 0.01, 1.0], cv=3).fit(X, y)
    assert_array_equal(cv.Cs_, [[0.01, 1.0, 10.0]])


def _prior_hessian(X, y):
    """Hessian of the mean cross-entropy in W at W=0, b=log priors (b profiled)."""
    p = np.bincount(y) / len(y)
    Xc = X - X.mean(axis=0)
    return np.kron(np.diag(p) - np.outer(p, p), Xc.T @ Xc / len(y))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", ["iris", "wine"])
def test_grid_starts_at_one_effective_degree_of_freedom(name):
    X, y = dataset(name)
    cv = SoftmaxClassifierCV(Cs=5, cv=3, max_iter=50).fit(X, y)
    Cs = cv.Cs_[0]
    eigenvalues = np.linalg.eigvalsh(_prior_hessian(X, y))
    penalty = 1.0 / (Cs[0] * len(y))  # the penalty's curvature per sample

    def dof(lam):
        return np.sum(eigenvalues / (eigenvalues + lam))

    # At the start the ridge fit has at most one degree of freedom, and the
    # start is as weak as the trace bound allows (not needlessly strong).
    assert dof(penalty) <= 1.0
    assert dof(penalty) >= 1.0 / (1.0 + eigenvalues.sum() / eigenvalues.max()) / 2
    variances = X.var(axis=0)
    spread = max(1.0, variances.mean() / np.median(variances))
    assert_allclose(Cs[-1] / Cs[0], 1e5 * spread, rtol=1e-10)
    assert_allclose(np.diff(np.log(Cs)), np.log(Cs[1] / Cs[0]))


def test_grid_scales_like_the_inverse_square_of_x():
    X, y = dataset("iris")
    a = SoftmaxClassifierCV(Cs=4, cv=3, **TIGHT).fit(X, y)
    b = SoftmaxClassifierCV(Cs=4, cv=3, **TIGHT).fit(10 * X, y)
    assert_allclose(b.Cs_, a.Cs_ / 100, rtol=1e-12)
    # At the weakest C (near separation) the two tol=1e-10 fits' scores differ
    # by up to 1.3e-7 under some BLAS kernels (OPENBLAS_CORETYPE=Haswell).
    assert_allclose(b.scores_, a.scores_, rtol=0, atol=1e-6)
    assert_allclose(b.coef_, a.coef_ / 10, rtol=1e-5, atol=1e-6)


def test_one_standard_error_rule():
    X, y = dataset("wine")
    X = StandardScaler().fit_transform(X)
    folds = folds_of(X, y)
    Cs = np.logspace(-3, 1, 9)
    best = SoftmaxClassifierCV(Cs=Cs, cv=folds).fit(X, y)
    one_se = SoftmaxClassifierCV(Cs=Cs, cv=folds, selection="1se").fit(X, y)
    assert_array_equal(one_se.scores_, best.scores_)
    scores = best.scores_[:, 0]
    mean = scores.mean(axis=0)
    # cv.glmnet: sd of the fold scores over sqrt(n_folds - 1), i.e. the standard
    # error of the mean with the unbiased variance.
    se = scores.std(axis=0, ddof=1) / np.sqrt(len(folds))
    i = np.argmax(mean)
    expected = Cs[np.flatnonzero(mean >= mean[i] - se[i])[0]]
    assert best.C_ == Cs[i]
    assert one_se.C_ == expected
    assert one_se.C_ < best.C_  # on this problem the rule does regularize more


def test_refit_false_averages_the_folds():
    X, y = dataset("iris")
    cv = SoftmaxClassifierCV(Cs=[0.1, 1.0, 10.0], cv=3, refit=False).fit(X, y)
    c = int(np.flatnonzero(cv.Cs_[0] == cv.C_)[0])
    coef = cv.coefs_paths_[:, 0, c].mean(axis=0)
    intercept = cv.intercepts_paths_[:, 0, c].mean(axis=0)
    assert_allclose(cv.coef_, coef)
    assert_allclose(cv.intercept_, intercept - intercept.mean(), atol=1e-12)
    assert cv.refit_n_iter_ == 0


def test_fold_missing_a_class():
    # Unshuffled KFold(3) on iris: each training fold lacks one class, and each
    # test fold holds only that class (scikit-learn #32748).
    X, y = dataset("iris")
    folds = list(KFold(3).split(X, y))
    cv = SoftmaxClassifierCV(Cs=[0.1, 10.0], cv=folds, refit=False, **TIGHT).fit(X, y)
    assert np.all(np.isfinite(cv.scores_))
    for i, (train, test) in enumerate(folds):
        absent = int(y[test][0])
        present = np.setdiff1d([0, 1, 2], [absent])
        for c, C in enumerate(cv.Cs_[0]):
            # No stray coefficients, no probability for the unseen class...
            assert np.all(cv.coefs_paths_[i, 0, c, absent] == 0)
            assert cv.intercepts_paths_[i, 0, c, absent] == -np.inf
            # ...and the other classes are SoftmaxClassifier's fit on the fold.
            ref = SoftmaxClassifier(C=C, **TIGHT).fit(X[train], y[train])
            assert_allclose(cv.coefs_paths_[i, 0, c, present], ref.coef_,
                            rtol=1e-5, atol=1e-6)
            # The score is scikit-learn's clipped log-loss of that model.
            model = SoftmaxClassifier()
            model.coef_ = cv.coefs_paths_[i, 0, c]
            model.intercept_ = cv.intercepts_paths_[i, 0, c]
            model.classes_, model.n_features_in_ = np.arange(3), 4
            with np.errstate(divide="ignore"):
                expected = -log_loss(y[test], model.predict_proba(X[test]),
                                     labels=[0, 1, 2])
            assert_allclose(cv.scores_[i, 0, c], expected, rtol=1e-10)
            assert_allclose(expected, np.log(np.finfo(float).eps), rtol=1e-3)
    # Averaging takes each class over the folds that fitted it: finite.
    assert np.all(np.isfinite(cv.coef_)) and np.all(np.isfinite(cv.intercept_))


def test_fold_missing_a_class_with_label_smoothing_fits_all_classes():
    # Smoothed labels give every class some mass: nothing is absent.
    X, y = dataset("iris")
    folds = list(KFold(3).split(X, y))
    cv = SoftmaxClassifierCV(Cs=[1.0], cv=folds, label_smoothing=0.1).fit(X, y)
    assert np.all(np.isfinite(cv.intercepts_paths_))
    assert np.all(np.isfinite(cv.scores_))


def test_user_scoring_matches_grid_search():
    X, y = dataset("wine")
    folds = folds_of(X, y, 3)
    Cs = [1e-4, 1e-2, 1.0]
    # A label scorer and a probability scorer (multiclass Brier: scikit-learn
    # 1.7+).
    probabilistic = ("neg_brier_score" if parse_version(sklearn.__version__)
                     >= parse_version("1.7") else "roc_auc_ovr")
    for scoring in ["accuracy", probabilistic]:
        cv = SoftmaxClassifierCV(Cs=Cs, cv=folds, scoring=scoring, **TIGHT).fit(X, y)
        gs = grid_search(X, y, Cs, folds, scoring=scoring)
        assert_allclose(cv.scores_.mean(axis=0)[0],
                        gs.cv_results_["mean_test_score"], atol=1e-6)


def test_sample_weight_in_fit_and_score_matches_routed_grid_search():
    X, y = dataset("iris")
    sw = np.random.default_rng(0).uniform(0.2, 3.0, size=len(y))
    folds = folds_of(X, y)
    Cs = [0.05, 1.0, 20.0]
    cv = SoftmaxClassifierCV(Cs=Cs, cv=folds, **TIGHT).fit(X, y, sample_weight=sw)
    with config_context(enable_metadata_routing=True), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scorer = make_scorer(log_loss, greater_is_better=False,
                             response_method="predict_proba")
        est = SoftmaxClassifier(**TIGHT).set_fit_request(sample_weight=True)
        gs = GridSearchCV(est, {"C": Cs}, cv=folds,
                          scoring=scorer.set_score_request(sample_weight=True))
        gs.fit(X, y, sample_weight=sw)
    assert_allclose(cv.scores_.mean(axis=0)[0], gs.cv_results_["mean_test_score"],
                    atol=1e-6)
    unweighted = SoftmaxClassifierCV(Cs=Cs, cv=folds, **TIGHT).fit(X, y)
    assert not np.allclose(unweighted.scores_, cv.scores_, atol=1e-3)


def test_metadata_routing_to_splitter_and_scorer():
    X, y = dataset("iris")
    groups = np.arange(len(y)) % 5
    sw = np.random.default_rng(1).uniform(0.5, 2.0, size=len(y))
    with config_context(enable_metadata_routing=True):
        scorer = make_scorer(log_loss, greater_is_better=False,
                             response_method="predict_proba")
        cv = SoftmaxClassifierCV(Cs=[1.0], cv=GroupKFold(5),
                                 scoring=scorer.set_score_request(sample_weight=True))
        cv.fit(X, y, groups=groups, sample_weight=sw)
    folds = list(GroupKFold(5).split(X, y, groups))
    default = SoftmaxClassifierCV(Cs=[1.0], cv=folds).fit(X, y, sample_weight=sw)
    # The routed scorer got the weights: same as the default weighted log-loss.
    assert_allclose(cv.scores_, default.scores_, rtol=1e-10)
    with pytest.raises(ValueError, match="groups"):
        SoftmaxClassifierCV(Cs=[1.0]).fit(X, y, groups=groups)


def _plain_accuracy(estimator, X, y):  # a scorer that takes no weights
    return accuracy_score(y, estimator.predict(X))


@pytest.mark.parametrize("scoring", [None, "neg_log_loss", "accuracy",
                                     _plain_accuracy])
@pytest.mark.parametrize("weighted", [False, True])
def test_routing_on_and_off_choose_the_same_c(scoring, weighted):
    # Every scoring, the default included, under routing: groups reach the
    # splitter, weights the fits and (when requested) the scorer.
    X, y = dataset("wine")
    X = StandardScaler().fit_transform(X)
    groups = np.arange(len(y)) % 4
    sw = np.random.default_rng(2).uniform(0.2, 3.0, size=len(y))
    weights = {"sample_weight": sw} if weighted else {}
    folds = list(GroupKFold(4).split(X, y, groups))
    off = SoftmaxClassifierCV(Cs=4, cv=folds, scoring=scoring).fit(X, y, **weights)
    routed_scoring = scoring
    with config_context(enable_metadata_routing=True):
        if isinstance(scoring, str):
            # Neither requested nor declined: scikit-learn's error (1.7+; the
            # scorers of 1.6 take unrequested weights without a word).
            if weighted and parse_version(sklearn.__version__) >= parse_version(
                    "1.7"):
                with pytest.raises(UnsetMetadataPassedError, match="sample_weight"):
                    SoftmaxClassifierCV(Cs=4, cv=GroupKFold(4), scoring=scoring).fit(
                        X, y, groups=groups, **weights)
            routed_scoring = get_scorer(scoring).set_score_request(
                sample_weight=True)
        on = SoftmaxClassifierCV(Cs=4, cv=GroupKFold(4), scoring=routed_scoring)
        on.fit(X, y, groups=groups, **weights)
    assert on.C_ == off.C_
    assert_array_equal(on.Cs_, off.Cs_)
    assert_allclose(on.scores_, off.scores_, rtol=1e-10)
    if scoring is None or scoring == "neg_log_loss":
        # The weights reached the score: sklearn's weighted log-loss.
        i, c = 1, 2
        model = SoftmaxClassifier()
        model.coef_ = on.coefs_paths_[i, 0, c]
        model.intercept_ = on.intercepts_paths_[i, 0, c]
        model.classes_, model.n_features_in_ = np.unique(y), X.shape[1]
        test = folds[i][1]
        expected = -log_loss(y[test], model.predict_proba(X[test]),
                             sample_weight=sw[test] if weighted else None)
        assert_allclose(on.scores_[i, 0, c], expected, rtol=1e-10)


@pytest.mark.parametrize("dtype, atol", [(np.float64, 1e-14), (np.float32, 5e-7)])
def test_neg_log_loss_scores_as_the_scorer_does(dtype, atol):
    # "neg_log_loss" is scored from the path's own log-probabilities instead
    # of by calling the scorer: the numbers must be the scorer's (a plain
    # callable is called as it is). The scorer's float32 probabilities put
    # up to eps32 (1.2e-7) into each sample's log-loss.
    X, y = dataset("wine")
    X = StandardScaler().fit_transform(X).astype(dtype)
    sw = np.random.default_rng(0).uniform(0.5, 2.0, size=len(y))

    def called(estimator, X, y, sample_weight=None):
        return get_scorer("neg_log_loss")(estimator, X, y,
                                          sample_weight=sample_weight)

    for weights in ({}, {"sample_weight": sw}):
        fast = SoftmaxClassifierCV(Cs=4, cv=3, scoring="neg_log_loss")
        slow = SoftmaxClassifierCV(Cs=4, cv=3, scoring=called)
        fast.fit(X, y, **weights)
        slow.fit(X, y, **weights)
        assert_allclose(fast.scores_, slow.scores_, rtol=0, atol=atol)
        assert fast.C_ == slow.C_


def test_each_l1_ratio_has_its_own_grid():
    # Adding l1_ratios changes no other l1_ratio's grid: the L2 row is the
    # L2-only grid, each row the grid that l1_ratio gets alone (glmnet's
    # lambda sequence per alpha), and C_ is a point of its own row.
    X, y = dataset("digits_std")
    params = dict(Cs=4, cv=2, max_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mixed = SoftmaxClassifierCV(l1_ratios=(0.0, 0.5, 1.0), **params).fit(X, y)
        alone = [SoftmaxClassifierCV(l1_ratios=(r,), **params).fit(X, y)
                 for r in (0.0, 0.5, 1.0)]
    assert mixed.Cs_.shape == (3, 4)
    for row, single in zip(mixed.Cs_, alone, strict=True):
        assert_allclose(row, single.Cs_[0], rtol=1e-12)
    # The L2-only grid, by its formula: C_0 = 1 / (S h) up to 1e5 * spread.
    p = np.bincount(y) / len(y)
    variances = X.var(axis=0)
    spread = max(1.0, variances.mean() / np.median(variances[variances > 0]))
    C0 = 1.0 / (len(y) * (1 - p @ p) * variances.sum())
    assert_allclose(mixed.Cs_[0], np.geomspace(C0, 1e5 * spread * C0, 4),
                    rtol=1e-10)
    assert mixed.Cs_[2, -1] > 10 * mixed.Cs_[0, -1]  # L1 starts far weaker
    assert mixed.C_ in mixed.Cs_[list(mixed.l1_ratios_).index(mixed.l1_ratio_)]
    # An array Cs is every l1_ratio's grid.
    given = SoftmaxClassifierCV(Cs=[10.0, 0.1], l1_ratios=(0.0, 1.0), cv=2,
                                max_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert_array_equal(given.fit(X, y).Cs_, [[0.1, 10.0], [0.1, 10.0]])


@pytest.mark.parametrize("backend", ["sequential", "processes", "threads"])
def test_one_convergence_warning_names_each_unconverged_fit(backend):
    X, y = dataset("iris")
    max_iter = 3
    cv = SoftmaxClassifierCV(Cs=[0.5, 50.0], l1_ratios=(0.0, 1.0), cv=2,
                             max_iter=max_iter,
                             n_jobs=None if backend == "sequential" else 2)
    showwarning = warnings.showwarning
    threads = parallel_config(backend="threading") if backend == "threads" else (
        contextlib.nullcontext())
    with warnings.catch_warnings(record=True) as caught, threads:
        warnings.simplefilter("always")
        cv.fit(X, y)
    assert warnings.showwarning is showwarning
    messages = [str(w.message) for w in caught
                if issubclass(w.category, ConvergenceWarning)]
    assert len(messages) == 1, messages
    # The fits that ran out of iterations, read off n_iter_.
    expected = {(i + 1, f"{cv.Cs_[j, c]:.3g}", f"{cv.l1_ratios_[j]:g}")
                for i, j, c in np.argwhere(cv.n_iter_ == max_iter)}
    named = set(re.findall(r"\(fold (\d+), C=([^,]+), l1_ratio=([^)]+)\)",
                           messages[0]))
    assert 0 < len(expected) <= 8
    assert named == {(str(i), C, r) for i, C, r in expected}
    assert f"{len(expected)} of the 8 fits along the path" in messages[0]
    assert "max_iter=3" in messages[0]
    assert f"refit on all the data at C_={cv.C_:.3g}" in messages[0]


def test_other_warnings_pass_through_and_an_error_filter_still_raises():
    X, y = dataset("iris")

    def noisy_accuracy(estimator, X, y):
        warnings.warn("from the scorer", UserWarning, stacklevel=2)
        return accuracy_score(y, estimator.predict(X))

    cv = SoftmaxClassifierCV(Cs=[0.1, 1.0], cv=3, scoring=noisy_accuracy)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cv.fit(X, y)
    assert [str(w.message) for w in caught] == ["from the scorer"] * 6
    # An "error" filter turns the one summary into an exception; the
    # estimator keeps its previous state.
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        with pytest.raises(ConvergenceWarning, match=r"fold 1, C=1,"):
            SoftmaxClassifierCV(Cs=[0.1, 1.0], cv=3, max_iter=2).fit(X, y)


def test_ignored_samples_are_neither_fitted_nor_scored():
    X, y = dataset("iris")
    rng = np.random.default_rng(0)
    ignored = rng.random(len(y)) < 0.2
    y_ign = np.where(ignored, -1, y)
    folds = folds_of(X, y)
    cv = SoftmaxClassifierCV(Cs=[0.1, 10.0], cv=folds, ignore_label=-1,
                             **TIGHT).fit(X, y_ign)
    # The same folds without the ignored samples.
    keep = np.flatnonzero(~ignored)
    position = np.full(len(y), -1)
    position[keep] = np.arange(len(keep))
    kept_folds = [(position[tr][position[tr] >= 0], position[te][position[te] >= 0])
                  for tr, te in folds]
    ref = SoftmaxClassifierCV(Cs=[0.1, 10.0], cv=kept_folds, **TIGHT).fit(
        X[keep], y[keep])
    assert_allclose(cv.scores_, ref.scores_, rtol=1e-7)
    assert_array_equal(cv.classes_, [0, 1, 2])


def test_soft_targets_score_is_the_soft_cross_entropy():
    X, y = dataset("iris")
    rng = np.random.default_rng(0)
    Y = rng.dirichlet(np.ones(3), size=len(y)) * 0.3 + 0.7 * np.eye(3)[y]
    folds = list(KFold(3, shuffle=True, random_state=0).split(X))
    cv = SoftmaxClassifierCV(Cs=[0.1, 10.0], cv=folds, label_smoothing=0.1,
                             **TIGHT).fit(X, Y)
    for i, (train, test) in enumerate(folds):
        for c, C in enumerate(cv.Cs_[0]):
            ref = SoftmaxClassifier(C=C, label_smoothing=0.1, **TIGHT).fit(
                X[train], Y[train])
            # Scored against the targets as given, not the smoothed ones.
            expected = np.mean(np.sum(Y[test] * ref.predict_log_proba(X[test]), 1))
            assert_allclose(cv.scores_[i, 0, c], expected, rtol=1e-6)


def test_label_smoothing_scores_the_labels_as_grid_search_does():
    X, y = dataset("iris")
    folds = folds_of(X, y)
    Cs = [0.1, 10.0]
    cv = SoftmaxClassifierCV(Cs=Cs, cv=folds, label_smoothing=0.2, **TIGHT).fit(X, y)
    gs = grid_search(X, y, Cs, folds, label_smoothing=0.2)
    assert_allclose(cv.scores_.mean(axis=0)[0], gs.cv_results_["mean_test_score"],
                    atol=1e-6)


def test_class_weight_is_computed_per_fold_like_grid_search():
    X, y = dataset("wine")
    X = StandardScaler().fit_transform(X)
    folds = folds_of(X, y)
    Cs = [0.01, 1.0]
    cv = SoftmaxClassifierCV(Cs=Cs, cv=folds, class_weight="balanced",
                             **TIGHT).fit(X, y)
    gs = grid_search(X, y, Cs, folds, class_weight="balanced")
    assert_allclose(cv.scores_.mean(axis=0)[0], gs.cv_results_["mean_test_score"],
                    atol=1e-6)


def test_sparse_input_matches_dense():
    X, y = dataset("digits")
    folds = folds_of(X, y, 3)
    dense = SoftmaxClassifierCV(Cs=2, cv=folds, tol=1e-8).fit(X, y)
    sparse = SoftmaxClassifierCV(Cs=2, cv=folds, tol=1e-8).fit(sp.csr_matrix(X), y)
    assert_allclose(sparse.Cs_, dense.Cs_, rtol=1e-10)
    assert_allclose(sparse.scores_, dense.scores_, rtol=1e-6)


def test_parallel_jobs_give_the_same_results():
    X, y = dataset("iris")
    one = SoftmaxClassifierCV(Cs=4, cv=4).fit(X, y)
    two = SoftmaxClassifierCV(Cs=4, cv=4, n_jobs=2).fit(X, y)
    assert_array_equal(one.scores_, two.scores_)
    assert_array_equal(one.coef_, two.coef_)


def test_warm_starts_iterate_along_the_path():
    # Every point of the path runs iterations (none stops at its start; with an
    # absolute tol the C=1e4 fit warm-started from C=1e3 ran none).
    X, y = dataset("digits_std")
    cv = SoftmaxClassifierCV(Cs=[1e-2, 1e-1, 1.0, 1e1, 1e2, 1e3, 1e4], cv=3).fit(X, y)
    assert np.all(cv.n_iter_ > 0)


@pytest.mark.parametrize("name", ["digits", "synthetic"])
def test_path_solutions_meet_tol_in_the_default_conditioning(name):
    # The path conditions each fit for the curvature where it starts; tol must
    # still hold where SoftmaxClassifier reads it. Checked with an objective
    # built here at the default conditioning, at every (fold, C).
    X, y = dataset(name)
    folds = folds_of(X, y, 3)
    tol = 1e-4  # above the rounding floor (a stall there counts as converged)
    cv = SoftmaxClassifierCV(Cs=[1e-3, 1e-1, 10.0, 1e3], cv=folds, tol=tol,
                             refit=False).fit(X, y)
    classes = np.unique(y)
    for i, (train, _) in enumerate(folds):
        Xt, codes = X[train], np.searchsorted(classes, y[train])
        w = np.ones(len(train))
        mu, sigma = column_scaling(Xt, w, True)
        for c, C in enumerate(cv.Cs_[0]):
            objective = SoftmaxObjective(Xt, codes, w, len(classes), C, True,
                                         mu=mu, sigma=sigma)
            theta = objective.from_original(cv.coefs_paths_[i, 0, c],
                                            cv.intercepts_paths_[i, 0, c])
            f, grad = objective.loss_grad(theta)
            assert meets_tol(f, np.max(np.abs(grad)) * (1 - 1e-6), tol)


def test_verbose_prints_one_line_per_fold_and_c(capsys):
    X, y = dataset("iris")
    SoftmaxClassifierCV(Cs=[0.1, 1.0, 10.0], cv=3, verbose=1).fit(X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 9
    assert re.search(r"fold 2/3 .*C=1\.000e\+00 \(2/3\): score -\d\.\d+, \d+ "
                     r"iterations", lines[4])


def test_pipeline_and_nested_cross_validation():
    X, y = dataset("wine")
    pipe = make_pipeline(StandardScaler(), SoftmaxClassifierCV(Cs=4, cv=3))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.mean() > 0.9
    assert pipe.fit(X, y).score(X, y) > 0.95


def test_dask_input_raises_naming_the_alternative():
    da = pytest.importorskip("dask.array")
    X, y = dataset("iris")
    with pytest.raises(ValueError, match=r"Dask.*compute"):
        SoftmaxClassifierCV().fit(da.from_array(X, chunks=50), da.from_array(y))


@pytest.mark.parametrize(
    ("params", "match"),
    [
        (dict(l1_ratios=(1.5,)), r"l1_ratios must be numbers in \[0, 1\]"),
        (dict(Cs=[1.0, -1.0]), "Cs must be an int or positive"),
        (dict(Cs=[]), "Cs must be an int or positive"),
        (dict(selection="1se", cv=[(np.arange(100), np.arange(100, 150))]),
         "needs at least 2 folds"),
    ],
)
def test_bad_parameters_raise_and_keep_state(params, match):
    X, y = dataset("iris")
    fitted = SoftmaxClassifierCV(Cs=[1.0], cv=3).fit(X, y)
    before = {k: np.copy(v) for k, v in vars(fitted).items() if k.endswith("_")}
    with pytest.raises(ValueError, match=match):
        fitted.set_params(**params).fit(X, y)
    for name, value in before.items():
        assert_array_equal(getattr(fitted, name), value)
