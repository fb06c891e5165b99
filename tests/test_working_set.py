"""The working-set L1 solver (``sksoftmax._working_set``).

References: the split formulation of the same problem (``PenalizedProblem``
run by L-BFGS-B alone), scikit-learn's saga, and the KKT conditions computed
from the definition in ``test_penalties.kkt_violation``.
"""

import functools
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from test_penalties import ELASTICNET, kkt_violation, objective

import sksoftmax._fitter as fitter_module
from sksoftmax import SoftmaxClassifier
from sksoftmax._objective import SoftmaxObjective, column_scaling
from sksoftmax._penalty import Penalty
from sksoftmax._problem import PenalizedProblem
from sksoftmax._solver import projected_gradient
from sksoftmax._working_set import (
    _shifted,
    kkt_gradient,
    shift_columns,
    solve_working_set,
)

TIGHT = {"tol": 1e-10, "max_iter": 20000}


def wine():
    X, y = load_wine(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def fit(split, X, y, sample_weight=None, **params):
    """Fit by working sets (``split=False``) or by the split formulation."""
    calls = []
    applies = fitter_module.working_set_applies

    def spy(problem):
        calls.append(applies(problem))
        return applies(problem) and not split

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fitter_module, "working_set_applies", spy)
        clf = SoftmaxClassifier(**params).fit(X, y, sample_weight=sample_weight)
    assert any(calls)  # the L1 problem was one for working sets
    return clf


CASES = {
    "plain": {},
    "penalty_factor": {"penalty_factor": np.linspace(0.0, 2.0, 13)},
    "bounds": {"coef_bounds": (-0.3, 0.5)},
    "weights": {"sample_weight": np.random.default_rng(0).uniform(0.2, 3, 178)},
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize(("C", "l1_ratio"), [(0.1, 1.0), (1.0, 1.0), (1.0, 0.5)])
def test_same_optimum_as_split_and_kkt(case, C, l1_ratio):
    X, y = wine()
    params = dict(CASES[case])
    sw = params.pop("sample_weight", None)
    ws = fit(False, X, y, sw, C=C, l1_ratio=l1_ratio, **params, **TIGHT)
    ref = fit(True, X, y, sw, C=C, l1_ratio=l1_ratio, **params, **TIGHT)
    pf = params.get("penalty_factor", 1.0)
    f_ws = objective(X, y, ws.coef_, ws.intercept_, C, l1_ratio, sw, pf)
    f_ref = objective(X, y, ref.coef_, ref.intercept_, C, l1_ratio, sw, pf)
    assert abs(f_ws - f_ref) <= 1e-9 * f_ref
    lower, upper = params.get("coef_bounds", (-np.inf, np.inf))
    assert kkt_violation(X, y, ws, sw, pf, lower, upper) <= 1e-6
    assert_array_equal(ws.coef_ != 0, ref.coef_ != 0)  # exact zeros
    assert np.all(ws.coef_ >= lower) and np.all(ws.coef_ <= upper)


def test_matches_saga_two_classes():
    """Two classes: LogisticRegression(C=2C/(1+r), l1_ratio=2r/(1+r))."""
    X, y = load_iris(return_X_y=True)
    keep = y > 0
    X, y = StandardScaler().fit_transform(X[keep]), y[keep]
    C, r = 0.5, 0.6
    ws = fit(False, X, y, C=C, l1_ratio=r, **TIGHT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        saga = LogisticRegression(C=2 * C / (1 + r), l1_ratio=2 * r / (1 + r),
                                  solver="saga", tol=1e-12, max_iter=100000,
                                  **ELASTICNET).fit(X, y)
    assert_allclose(ws.coef_[1] - ws.coef_[0], saga.coef_[0], atol=1e-5)


@pytest.mark.parametrize("kind", ["float32", "sparse", "soft"])
def test_inputs(kind):
    X, y = wine()
    C, r = 1.0, 1.0
    target = y
    if kind == "float32":
        X = X.astype(np.float32)
    elif kind == "sparse":
        X = sp.csr_matrix(np.where(np.abs(X) > 0.5, X, 0.0))
    else:
        target = np.eye(3)[y] * 0.8 + 0.2 / 3  # soft targets
    tol = {"tol": 1e-4} if kind == "float32" else TIGHT
    ws = fit(False, X, target, C=C, l1_ratio=r, **tol)
    ref = fit(True, X, target, C=C, l1_ratio=r, **tol)
    assert ws.coef_.dtype == X.dtype
    assert np.any(ws.coef_ == 0)
    rtol = 1e-5 if kind == "float32" else 1e-9
    assert abs(ws.loss_ - ref.loss_) <= rtol * ref.loss_
    if kind != "soft":
        Xd = X.toarray() if sp.issparse(X) else X.astype(np.float64)
        assert kkt_violation(Xd, y, ws) <= (1e-3 if kind == "float32" else 1e-6)


def _problem(l1_ratio=1.0, **kw):
    X, y = wine()
    w = np.ones(len(y))
    mu, sigma = column_scaling(X, w, True)
    objective_ = SoftmaxObjective(X, y, w, 3, 1.0, True, mu=mu, sigma=sigma)
    return PenalizedProblem(objective_, Penalty(1.0, l1_ratio, **kw))


@pytest.mark.parametrize("bounded", [False, True])
def test_kkt_gradient_is_the_split_projected_gradient(bounded):
    kw = {"lower": np.full((3, 13), -0.2), "upper": np.full((3, 13), 0.3)} \
        if bounded else {}
    problem = _problem(**kw)
    rng = np.random.default_rng(1)
    theta = rng.standard_normal(problem.objective.n_params) * 0.3
    theta[rng.random(len(theta)) < 0.4] = 0.0
    x = problem.split(theta)
    theta = problem.theta(x)
    _, g = problem.objective.loss_grad(theta)
    v = kkt_gradient(problem, theta, g)
    _, g_split = problem.loss_grad(x)
    split = projected_gradient(x, g_split, problem.bounds)
    assert_allclose(np.max(np.abs(v)), np.max(np.abs(split)), rtol=1e-12)


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_shift_keeps_predictions_and_lowers_the_penalty(l1_ratio):
    problem = _problem(l1_ratio)
    rng = np.random.default_rng(2)
    theta = rng.standard_normal(problem.objective.n_params)
    shifted = shift_columns(problem, theta)
    f0, _ = problem.loss_grad(problem.split(theta))
    f1, _ = problem.loss_grad(problem.split(shifted))
    assert f1 < f0
    X, _ = wine()
    z0 = X @ problem.objective.to_original(theta)[0].T
    z1 = X @ problem.objective.to_original(shifted)[0].T
    # Equal up to a constant per sample: the softmax does not change.
    assert_allclose(z1 - z1.mean(1, keepdims=True),
                    z0 - z0.mean(1, keepdims=True), atol=1e-10)
    if l1_ratio == 1.0:  # three classes: the median entry becomes zero
        V = shifted.reshape(3, -1)[:, :13]
        assert np.all(np.sum(V == 0, axis=0) >= 1)


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5, 0.2])
@pytest.mark.parametrize("penalty_factor", [None, "varied"])
def test_shift_update_matches_a_pass_over_the_data(l1_ratio, penalty_factor):
    """The closed-form value and gradient after the shift are those of a new
    evaluation at the shifted point."""
    pf = None if penalty_factor is None else np.linspace(0.0, 2.0, 13)
    problem = _problem(l1_ratio, penalty_factor=pf)
    rng = np.random.default_rng(3)
    theta = rng.standard_normal(problem.objective.n_params)
    f, g = problem.objective.loss_grad(theta)
    shifted, f_new, g_new = _shifted(problem, theta, f, g)
    assert not np.array_equal(shifted, theta)  # the shift did move
    f_ref, g_ref = problem.objective.loss_grad(shifted)
    assert_allclose(f_new, f_ref, rtol=1e-12)
    assert_allclose(g_new, g_ref, rtol=1e-9, atol=1e-12 * np.abs(g_ref).max())


@pytest.mark.parametrize("params", [
    {"l1_ratio": 0.0},
    {"l1_ratio": 0.0, "coef_bounds": (-0.3, 0.5)},
    {"l1_ratio": 1.0, "positive": True},
])
def test_no_working_set_without_free_l1_signs(params):
    """L2 fits (with or without bounds) and L1 fits whose bounds fix every
    sign are solved by L-BFGS-B directly, to the same KKT conditions."""
    X, y = wine()

    def refuse(*args, **kwargs):
        raise AssertionError("working sets used")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fitter_module, "solve_working_set", refuse)
        clf = SoftmaxClassifier(C=1.0, **params, **TIGHT).fit(X, y)
    lower, upper = params.get("coef_bounds", (-np.inf, np.inf))
    if params.get("positive"):
        lower = 0.0
    assert kkt_violation(X, y, clf, lower=lower, upper=upper) <= 1e-6


@pytest.mark.parametrize("max_rounds", [0, 1, 2])
def test_fallback_after_few_rounds(max_rounds):
    """Where the rounds end early, the split formulation finishes the fit
    from their last point: the same optimum and zeros as the split alone."""
    X, y = wine()
    C, r = 1.0, 1.0
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fitter_module, "solve_working_set",
                   functools.partial(solve_working_set, max_rounds=max_rounds))
        ws = fit(False, X, y, C=C, l1_ratio=r, **TIGHT)
    ref = fit(True, X, y, C=C, l1_ratio=r, **TIGHT)
    f_ws = objective(X, y, ws.coef_, ws.intercept_, C, r)
    f_ref = objective(X, y, ref.coef_, ref.intercept_, C, r)
    assert abs(f_ws - f_ref) <= 1e-9 * f_ref
    assert kkt_violation(X, y, ws) <= 1e-6
    assert_array_equal(ws.coef_ != 0, ref.coef_ != 0)


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_warm_started_path(l1_ratio):
    """Along a path of warm starts (a first round converged at once where
    few entries enter), every point meets the KKT conditions and has the
    split formulation's optimum from a cold start."""
    X, y = wine()
    warm = SoftmaxClassifier(l1_ratio=l1_ratio, warm_start=True, **TIGHT)
    for C in np.geomspace(0.02, 2.0, 6):
        warm.set_params(C=C).fit(X, y)
        ref = fit(True, X, y, C=C, l1_ratio=l1_ratio, **TIGHT)
        f_warm = objective(X, y, warm.coef_, warm.intercept_, C, l1_ratio)
        f_ref = objective(X, y, ref.coef_, ref.intercept_, C, l1_ratio)
        assert abs(f_warm - f_ref) <= 1e-9 * f_ref
        assert kkt_violation(X, y, warm) <= 1e-6
