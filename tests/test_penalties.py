"""L1 / elastic-net, penalty factors and coefficient bounds, at the estimator.

References: optima of scikit-learn's saga and of an interior-point solver
(``tests/data/l1_reference_*.npz``, made by ``tests/data/make_l1_reference.py``),
``LogisticRegression(solver="saga")`` for two classes, and the KKT conditions
computed here from a hand-written gradient.
"""

import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits, load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.utils.fixes import parse_version

from sksoftmax import SoftmaxClassifier
from sksoftmax._problem import canonical_shift

# scikit-learn < 1.8 reads l1_ratio only with penalty="elasticnet"; 1.8
# deprecated penalty in favour of l1_ratio alone.
ELASTICNET = ({"penalty": "elasticnet"}
              if parse_version(sklearn.__version__) < parse_version("1.8")
              else {})

TIGHT = {"tol": 1e-10, "max_iter": 20000}
REFERENCES = Path(__file__).parent / "data"


def load(name):
    base, _, kind = name.partition("_")
    X, y = {"iris": load_iris, "wine": load_wine,
            "digits": load_digits}[base](return_X_y=True)
    if kind == "std":
        X = StandardScaler().fit_transform(X)
    return X, y


def objective(X, y, coef, intercept, C, l1_ratio, sample_weight=None, pf=1.0):
    """scikit-learn's elastic-net objective (weights normalized by their sum)."""
    w = np.ones(len(y)) if sample_weight is None else sample_weight
    Z = X @ coef.T + intercept
    Z = Z - Z.max(axis=1, keepdims=True)
    ce = np.log(np.exp(Z).sum(axis=1)) - Z[np.arange(len(y)), y]
    penalty = np.sum(pf * (l1_ratio * np.abs(coef)
                           + (1 - l1_ratio) * coef**2 / 2)) / (C * w.sum())
    return float(w @ ce / w.sum() + penalty)


def kkt_violation(X, y, clf, sample_weight=None, pf=1.0, lower=-np.inf,
                  upper=np.inf):
    """Largest violation of the KKT conditions, per column in units of the
    column's scale; computed from the definition, not from sksoftmax."""
    X = X.toarray() if sp.issparse(X) else np.asarray(X, dtype=np.float64)
    W = np.asarray(clf.coef_, dtype=np.float64)
    K, d = W.shape
    w = np.ones(len(y)) if sample_weight is None else sample_weight
    S = w.sum()
    Z = X @ W.T + clf.intercept_
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    R = (P - np.eye(K)[np.searchsorted(clf.classes_, y)]) * w[:, None] / S
    l1 = clf.l1_ratio / (clf.C * S) * pf * np.ones(d)
    l2 = (1 - clf.l1_ratio) / (clf.C * S) * pf * np.ones(d)
    G = R.T @ X + l2 * W  # gradient of the smooth part
    lower = np.broadcast_to(lower, W.shape)
    upper = np.broadcast_to(upper, W.shape)
    at_lower, at_upper = W == lower, W == upper
    zero = (W == 0) & ~at_lower & ~at_upper
    free = ~zero & ~at_lower & ~at_upper
    v = np.zeros(W.shape)
    # Free nonzero entries: stationarity.
    v[free] = np.abs(G + l1 * np.sign(W))[free]
    # Zeros inside the box: the subgradient condition |g| <= l1.
    v[zero] = np.maximum(np.abs(G) - l1, 0)[zero]
    # At a bound the gradient points outward (right / left derivative).
    right = G + l1 * np.where(W > 0, 1.0, np.where(W < 0, -1.0, 1.0))
    left = G + l1 * np.where(W > 0, 1.0, np.where(W < 0, -1.0, -1.0))
    v[at_lower] = np.maximum(-right, 0)[at_lower]
    v[at_upper] = np.maximum(left, 0)[at_upper]
    scale = np.maximum(X.std(axis=0), 1e-3)
    out = np.max(v / scale)
    if clf.fit_intercept:
        out = max(out, np.max(np.abs(R.sum(axis=0))))
    return out


def _cases():
    cases = []
    for path in sorted(REFERENCES.glob("l1_reference_*.npz")):
        data = np.load(path)
        name = path.stem.removeprefix("l1_reference_")
        sources = np.broadcast_to(data["source"], data["C"].shape)
        for C, r, value, converged, source in zip(
            data["C"], data["l1_ratio"], data["value"], data["converged"],
            sources, strict=True,
        ):
            support = (np.unpackbits(data[f"support:{C}/{r}"])
                       if source == "saga" else None)
            cases.append(pytest.param(name, float(C), float(r), float(value),
                                      bool(converged), support,
                                      id=f"{name}-{C}-{r}-{source}"))
    return cases


@pytest.mark.parametrize(
    ("name", "C", "l1_ratio", "value", "converged", "support"), _cases()
)
def test_optimum_and_support_match_the_reference(name, C, l1_ratio, value,
                                                 converged, support):
    X, y = load(name)
    clf = SoftmaxClassifier(C=C, l1_ratio=l1_ratio, **TIGHT).fit(X, y)
    f = objective(X, y, clf.coef_, clf.intercept_, C, l1_ratio)
    # Never worse than the reference by more than 1e-8 (relative), and not
    # better either where the reference converged.
    assert (f - value) / value <= 1e-8
    if converged:
        assert (value - f) / value <= 1e-8
    assert kkt_violation(X, y, clf) <= 1e-6
    if support is not None and converged:
        ref = support[: clf.coef_.size].reshape(clf.coef_.shape).astype(bool)
        assert_array_equal(clf.coef_ != 0, ref)


@pytest.mark.parametrize("l1_ratio", [0.25, 0.5, 1.0])
@pytest.mark.parametrize(("name", "C"), [("digits_std", 10.0), ("digits_raw", 0.01),
                                         ("digits_raw", 10.0)])
def test_kkt_where_no_reference_was_computed(name, C, l1_ratio):
    # The references skip these (too slow for saga and the interior point);
    # the KKT conditions certify the optimum on their own.
    X, y = load(name)
    clf = SoftmaxClassifier(C=C, l1_ratio=l1_ratio, **TIGHT).fit(X, y)
    assert kkt_violation(X, y, clf) <= 1e-6
    assert np.any(clf.coef_ == 0)


@pytest.mark.parametrize("l1_ratio", [0.3, 1.0])
def test_kkt_with_penalty_factors_bounds_and_weights(l1_ratio):
    X, y = load("wine_raw")
    rng = np.random.default_rng(0)
    sw = rng.uniform(0.2, 3.0, len(y))
    pf = rng.uniform(0.0, 2.0, X.shape[1])
    pf[[2, 5]] = 0.0
    lower = np.full((3, X.shape[1]), -0.05)
    lower[1] = 0.0
    upper = 0.3
    clf = SoftmaxClassifier(C=0.5, l1_ratio=l1_ratio, penalty_factor=pf,
                            coef_bounds=(lower, upper), **TIGHT)
    clf.fit(X, y, sample_weight=sw)
    assert np.all(clf.coef_ >= lower) and np.all(clf.coef_ <= upper)
    assert np.any(clf.coef_ == lower) and np.any(clf.coef_ == 0)
    assert kkt_violation(X, y, clf, sw, pf, lower, upper) <= 1e-6


def test_exact_zeros_no_tiny_values():
    X, y = load("digits_std")
    X, y = X[:600], y[:600]
    clf = SoftmaxClassifier(C=0.1, l1_ratio=1.0).fit(X, y)
    nonzero = np.abs(clf.coef_[clf.coef_ != 0])
    assert 0.3 < np.mean(clf.coef_ == 0) < 0.95
    assert nonzero.min() > 1e-6


@pytest.mark.parametrize(("C", "l1_ratio"), [(0.05, 0.5), (0.3, 1.0), (1.0, 0.2)])
def test_two_classes_map_to_logistic_regression(C, l1_ratio):
    X, y = load("wine_std")
    keep = y < 2
    X, y = X[keep], y[keep]
    clf = SoftmaxClassifier(C=C, l1_ratio=l1_ratio, **TIGHT).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = LogisticRegression(
            C=2 * C / (1 + l1_ratio), l1_ratio=2 * l1_ratio / (1 + l1_ratio),
            solver="saga", tol=1e-12, max_iter=100000, **ELASTICNET,
        ).fit(X, y)
    # The optimum is symmetric: exactly in the canonical form of l1_ratio=1
    # (a column shift puts it there), to the fit's precision otherwise.
    exact = l1_ratio == 1
    assert_allclose(clf.coef_[0], -clf.coef_[1], rtol=1e-12 if exact else 1e-6,
                    atol=1e-15 if exact else 1e-9)
    beta = clf.coef_[1] - clf.coef_[0]
    assert_allclose(beta, ref.coef_[0], rtol=1e-5, atol=1e-7)
    assert_allclose(clf.intercept_[1] - clf.intercept_[0], ref.intercept_[0],
                    rtol=1e-5)
    assert_array_equal(beta != 0, ref.coef_[0] != 0)


def test_l1_ratio_zero_is_the_l2_fit_and_no_penalty_is_no_penalty():
    X, y = load("iris_raw")
    base = SoftmaxClassifier().fit(X, y)
    assert_array_equal(SoftmaxClassifier(l1_ratio=0.0).fit(X, y).coef_, base.coef_)
    free = SoftmaxClassifier(C=np.inf, max_iter=300, tol=1e-8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = free.fit(X, y).predict_proba(X)
        b = free.set_params(l1_ratio=1.0).fit(X, y).predict_proba(X)
    assert_allclose(a, b, atol=1e-4)


def test_penalty_factor_scales_the_penalty():
    X, y = load("wine_std")
    a = SoftmaxClassifier(C=0.2, l1_ratio=0.5, **TIGHT).fit(X, y)
    b = SoftmaxClassifier(C=0.4, l1_ratio=0.5, penalty_factor=np.full(13, 2.0),
                          **TIGHT).fit(X, y)
    assert_allclose(b.coef_, a.coef_, rtol=1e-6, atol=1e-9)
    assert_array_equal(b.coef_ != 0, a.coef_ != 0)
    # Factor 0: that column is free of penalty (its gradient vanishes).
    pf = np.ones(13)
    pf[0] = 0.0
    c = SoftmaxClassifier(C=0.05, l1_ratio=1.0, penalty_factor=pf, **TIGHT)
    c.fit(X, y)
    assert np.all(c.coef_[:, 0] != 0)
    assert kkt_violation(X, y, c, pf=pf) <= 1e-6


def test_positive_is_lower_bound_zero():
    X, y = load("iris_std")
    a = SoftmaxClassifier(positive=True, l1_ratio=0.5, **TIGHT).fit(X, y)
    b = SoftmaxClassifier(coef_bounds=(0, np.inf), l1_ratio=0.5, **TIGHT)
    b.fit(X, y)
    assert_array_equal(a.coef_, b.coef_)
    assert np.all(a.coef_ >= 0) and np.any(a.coef_ == 0)
    assert kkt_violation(X, y, a, lower=0.0) <= 1e-6


def test_bounds_with_l2_only():
    X, y = load("iris_std")
    clf = SoftmaxClassifier(coef_bounds=(-0.5, 0.5), **TIGHT).fit(X, y)
    assert np.any(np.abs(clf.coef_) == 0.5)
    assert kkt_violation(X, y, clf, lower=-0.5, upper=0.5) <= 1e-6


def test_warm_start_restarts_at_the_optimum():
    X, y = load("wine_std")
    clf = SoftmaxClassifier(C=0.1, l1_ratio=0.7, warm_start=True, **TIGHT)
    coef = clf.fit(X, y).coef_.copy()
    clf.fit(X, y)
    assert clf.n_iter_ <= 10
    assert_allclose(clf.coef_, coef, rtol=1e-7, atol=1e-10)
    # From another C: the warm start maps through the new conditioning.
    clf.set_params(C=1.0).fit(X, y)
    cold = SoftmaxClassifier(C=1.0, l1_ratio=0.7, **TIGHT).fit(X, y)
    assert_allclose(clf.loss_, cold.loss_, rtol=1e-9)


def test_integer_weights_are_repeated_rows_and_class_weight():
    X, y = load("iris_raw")
    rng = np.random.default_rng(1)
    sw = rng.integers(0, 3, len(y))
    params = dict(C=0.5, l1_ratio=0.6, coef_bounds=(-1, 2), **TIGHT)
    a = SoftmaxClassifier(**params).fit(X, y, sample_weight=sw)
    b = SoftmaxClassifier(**params).fit(np.repeat(X, sw, 0), np.repeat(y, sw))
    assert_allclose(a.coef_, b.coef_, rtol=1e-6, atol=1e-9)
    cw = {0: 2.0, 1: 1.0, 2: 0.5}
    c = SoftmaxClassifier(class_weight=cw, **params).fit(X, y)
    d = SoftmaxClassifier(**params).fit(X, y, sample_weight=np.array(
        [cw[v] for v in y]))
    assert_allclose(c.coef_, d.coef_, rtol=1e-6, atol=1e-9)


def test_targets_smoothing_ignore_label_float32_sparse():
    X, y = load("wine_std")
    params = dict(C=0.3, l1_ratio=0.8, penalty_factor=np.linspace(0.5, 1.5, 13),
                  **TIGHT)
    ref = SoftmaxClassifier(label_smoothing=0.1, **params).fit(X, y)
    T = 0.9 * np.eye(3)[y] + 0.1 / 3
    soft = SoftmaxClassifier(**params).fit(X, T)
    # At the rounding floor (see below): equal losses, coefficients ~1e-8 apart.
    assert_allclose(soft.loss_, ref.loss_, rtol=1e-12)
    assert_allclose(soft.coef_, ref.coef_, rtol=1e-6, atol=1e-7)
    y_ign = y.copy()
    y_ign[::5] = -1
    ign = SoftmaxClassifier(ignore_label=-1, **params).fit(X, y_ign)
    drop = SoftmaxClassifier(**params).fit(X[y_ign >= 0], y[y_ign >= 0])
    # Both end at the rounding floor (tol=1e-10 is below it); the zero-weight
    # rows change the products' rounding, which leaves coefficients 2e-8
    # apart at equal loss.
    assert_allclose(ign.loss_, drop.loss_, rtol=1e-13)
    assert_allclose(ign.coef_, drop.coef_, rtol=1e-6, atol=1e-7)
    plain = SoftmaxClassifier(**params).fit(X, y)
    f32 = SoftmaxClassifier(**{**params, "tol": 1e-5}).fit(X.astype(np.float32), y)
    assert f32.coef_.dtype == np.float32
    assert_allclose(f32.coef_, plain.coef_, atol=2e-3)
    Xs = X.copy()
    Xs[np.abs(Xs) < 0.5] = 0.0
    dense = SoftmaxClassifier(**params).fit(Xs, y)
    sparse = SoftmaxClassifier(**params).fit(sp.csr_matrix(Xs), y)
    # At the rounding floor too: the products' different summation orders
    # (class-major for dense X, sample-major for sparse) move coefficients
    # in the same way.
    assert_allclose(sparse.loss_, dense.loss_, rtol=1e-13)
    assert_allclose(sparse.coef_, dense.coef_, rtol=1e-6, atol=1e-7)
    assert_array_equal(sparse.coef_ != 0, dense.coef_ != 0)


def test_sparsify_densify_predict_and_pickle():
    X, y = load("digits_std")
    X, y = X[:500], y[:500]
    clf = SoftmaxClassifier(C=0.05, l1_ratio=1.0).fit(X, y)
    proba = clf.predict_proba(X)
    clf.sparsify()
    assert sp.issparse(clf.coef_)
    assert clf.coef_.nnz == np.count_nonzero(clf.coef_.toarray())
    assert_allclose(clf.predict_proba(X), proba, rtol=1e-12)
    assert_allclose(clf.predict_proba(sp.csr_matrix(X)), proba, rtol=1e-12)
    assert_array_equal(clf.predict(X), proba.argmax(axis=1))
    again = pickle.loads(pickle.dumps(clf))
    assert_allclose(again.predict_proba(X), proba, rtol=1e-12)
    # warm start from a sparse coef_
    clf.set_params(warm_start=True).fit(X, y)
    assert isinstance(clf.coef_, np.ndarray)
    clf.sparsify().densify()
    assert isinstance(clf.coef_, np.ndarray)
    assert_allclose(clf.predict_proba(X), proba, rtol=1e-5)
    with pytest.raises(ValueError, match="must be fitted"):
        SoftmaxClassifier().sparsify()


def test_canonical_form_is_min_norm_and_matches_saga_support_up_to_shift():
    # Four classes, pure L1: columns whose median interval is not a point
    # are shifted to the smallest-norm optimum.
    X, y = load("digits_std")
    keep = y < 4
    X, y = X[keep], y[keep]
    clf = SoftmaxClassifier(C=1.0, l1_ratio=1.0, **TIGHT).fit(X, y)
    # Shifting any column by its canonical shift again changes nothing.
    again = canonical_shift(clf.coef_, np.ones(64, bool), np.ones(64, bool))
    assert_allclose(again, clf.coef_, atol=1e-12)
    # No shift lowers the penalty (the L1 norm is minimal along the class axis).
    W = clf.coef_
    for c in np.linspace(-0.05, 0.05, 11):
        assert np.all(np.abs(W + c).sum(axis=0) >= np.abs(W).sum(axis=0) - 1e-12)
