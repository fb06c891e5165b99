"""scikit-learn's API compliance checks, with no expected failures."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from sksoftmax import SoftmaxClassifier, SoftmaxClassifierCV

ESTIMATORS = [
    SoftmaxClassifier(),
    SoftmaxClassifier(C=0.1, class_weight="balanced"),
    # No penalty. The checks' data have more features than samples, so they
    # are separable and the unpenalized loss has no minimizer: the iterates
    # run off to infinity, and the sample-weight equivalence check then only
    # measures how far two rounding paths drifted (6e-8 at the default tol
    # with SciPy 1.11, 3e-6 at tol=1e-8). tol=1e-4 stops before they drift.
    SoftmaxClassifier(C=float("inf"), max_iter=300, tol=1e-4),
    SoftmaxClassifier(label_smoothing=0.1),
    SoftmaxClassifier(ignore_label=-100, warm_start=True),
    # L1 / elastic net (the split variables) and coefficient bounds. A
    # penalty_factor needs the number of features, which the checks vary.
    SoftmaxClassifier(l1_ratio=0.5),
    SoftmaxClassifier(l1_ratio=1.0, C=10.0, positive=True, coef_bounds=(0.0, 2.0)),
    # Few Cs and folds keep the checks fast; the path code is the same. The
    # data-derived grid ends on nearly separable data (the checks' data), where
    # path fits precise enough for their scores drift apart by rounding
    # between weighted and repeated rows (2e-7), as for C=inf above.
    SoftmaxClassifierCV(Cs=[0.01, 0.1, 1.0], cv=3),
    SoftmaxClassifierCV(Cs=[0.1, 10.0], cv=2, selection="1se", refit=False),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_check_estimator_settings_are_distinct():
    # Guard against the list silently collapsing to the defaults.
    assert len({repr(est) for est in ESTIMATORS}) == len(ESTIMATORS)
    assert pytest.approx(ESTIMATORS[3].label_smoothing) == 0.1
