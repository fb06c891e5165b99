"""The problem layer: L1 split, box bounds, penalty changes, canonical form."""

from types import SimpleNamespace

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from sksoftmax._objective import SoftmaxObjective, column_scaling
from sksoftmax._penalty import Penalty
from sksoftmax._problem import PenalizedProblem, canonical_shift


def make_data(n=80, d=4, k=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * np.logspace(-1, 1, d) + np.arange(d)
    y = np.arange(n) % k
    w = rng.uniform(0.5, 2.0, n)
    return X, y, w


def penalty_of(C=1.0, l1_ratio=0.0, penalty_factor=None, lower=None,
               upper=None, k=3, d=4, positive=False):
    bounds = None if lower is None and upper is None else (
        -np.inf if lower is None else lower, np.inf if upper is None else upper)
    params = SimpleNamespace(C=C, l1_ratio=l1_ratio, penalty_factor=penalty_factor,
                             coef_bounds=bounds, positive=positive)
    return Penalty.from_params(params, k, d)


def build(X, y, w, *, C=1.0, fit_intercept=True, k=3, weight_scale=1.0,
          **penalty):
    mu, sigma = column_scaling(X, w, fit_intercept)
    # The data term only, as the fit builds it: the problem sets the penalty.
    objective = SoftmaxObjective(X, y, w, k, np.inf, fit_intercept, mu=mu,
                                 sigma=sigma)
    return PenalizedProblem(objective, penalty_of(C, k=k, d=X.shape[1], **penalty),
                            weight_scale=weight_scale)


def elastic_net(X, y, w, coef, intercept, C, l1_ratio, pf=1.0):
    """The estimator's objective written out, independent of sksoftmax."""
    Z = X @ coef.T + intercept
    Z = Z - Z.max(axis=1, keepdims=True)
    ce = np.log(np.exp(Z).sum(axis=1)) - Z[np.arange(len(y)), y]
    S = w.sum()
    penalty = np.sum(pf * (l1_ratio * np.abs(coef)
                           + (1 - l1_ratio) * coef**2 / 2)) / (C * S)
    return float(w @ ce / S + penalty)


def test_l2_without_bounds_is_the_objective_itself():
    X, y, w = make_data()
    problem = build(X, y, w)
    assert problem.bounds is None
    assert problem.n_split == 0
    assert problem.loss_grad == problem.objective.loss_grad
    theta = problem.start(np.zeros((3, 4)), np.zeros(3))
    assert problem.n_vars == theta.size == 15


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("bounds", [False, True])
def test_value_and_gradient(fit_intercept, bounds):
    X, y, w = make_data()
    pf = np.array([1.0, 0.0, 2.0, 0.5])
    lower = np.full((3, 4), -np.inf)
    upper = np.full((3, 4), np.inf)
    if bounds:
        lower[0] = 0.0          # sign fixed: no split, linear +penalty
        upper[1] = 0.0          # sign fixed: no split, linear -penalty
        lower[2, 1:] = -0.3
    problem = build(X, y, w, C=0.5, fit_intercept=fit_intercept, l1_ratio=0.4,
                    penalty_factor=pf, lower=lower, upper=upper)
    rng = np.random.default_rng(1)
    coef = rng.uniform(-0.3, 0.3, (3, 4))
    coef = np.clip(coef, lower, upper)
    intercept = rng.standard_normal(3) if fit_intercept else np.zeros(3)
    x = problem.start(coef, intercept)
    # The value is the elastic net objective, written out.
    f, g = problem.loss_grad(x)
    assert_allclose(f, elastic_net(X, y, w, coef, intercept, 0.5, 0.4, pf),
                    rtol=1e-12)
    got_coef, got_intercept = problem.to_original(x)
    assert_allclose(got_coef, coef, rtol=1e-12, atol=1e-15)
    assert_allclose(got_intercept, intercept, rtol=1e-12, atol=1e-12)
    # x is feasible; the gradient matches central differences of the smooth
    # function of x (in the interior of each half's domain).
    assert np.all(x >= problem.bounds.lb) and np.all(x <= problem.bounds.ub)
    x = x + 0.05 * (x >= problem.bounds.lb)  # move off the kinks at 0
    x = np.clip(x, problem.bounds.lb, problem.bounds.ub)
    f, g = problem.loss_grad(x)
    step = 1e-6
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = step
        numeric = (problem.loss_grad(x + e)[0] - problem.loss_grad(x - e)[0])
        assert_allclose(g[i], numeric / (2 * step), rtol=1e-5, atol=1e-8)


def test_set_penalty_equals_a_fresh_problem_and_reuses_the_data(monkeypatch):
    X, y, w = make_data()
    problem = build(X, y, w, C=10.0, l1_ratio=0.0)
    objective = problem.objective
    coef = np.random.default_rng(2).uniform(-1, 1, (3, 4))
    intercept = np.array([0.1, -0.2, 0.1])
    import sksoftmax._objective as module

    def forbidden(*args, **kwargs):
        raise AssertionError("column statistics recomputed")

    monkeypatch.setattr(module, "column_scaling", forbidden)
    for C, l1_ratio in [(0.1, 0.5), (1.0, 1.0), (np.inf, 0.3), (3.0, 0.0)]:
        problem.set_penalty(problem.penalty.with_C(C, l1_ratio))
        assert problem.objective is objective
        monkeypatch.undo()
        fresh = build(X, y, w, C=C, l1_ratio=l1_ratio)
        monkeypatch.setattr(module, "column_scaling", forbidden)
        assert_allclose(problem.objective.sigma, fresh.objective.sigma)
        # Warm starts map through the new scale.
        x, x_fresh = problem.start(coef, intercept), fresh.start(coef, intercept)
        assert_allclose(x, x_fresh, rtol=1e-14)
        assert_allclose(problem.loss_grad(x)[0], fresh.loss_grad(x_fresh)[0],
                        rtol=1e-14)
        assert_allclose(problem.loss_grad(x)[1], fresh.loss_grad(x_fresh)[1],
                        rtol=1e-12, atol=1e-15)
        assert_allclose(problem.loss_grad(x)[0],
                        elastic_net(X, y, w, coef, intercept, C, l1_ratio),
                        rtol=1e-12)


def test_start_projects_onto_bounds_and_splits_signs():
    X, y, w = make_data()
    problem = build(X, y, w, C=1.0, l1_ratio=1.0, lower=-0.5, upper=0.25)
    coef = np.array([[1.0, -1.0, 0.1, -0.1]] * 3)
    x = problem.start(coef, np.zeros(3))
    assert np.all(x >= problem.bounds.lb) and np.all(x <= problem.bounds.ub)
    got, _ = problem.to_original(x)
    assert_allclose(got, np.clip(coef, -0.5, 0.25), rtol=1e-14)
    # Each split entry has at most one nonzero half.
    n = x.size - problem.n_split
    assert np.all((x[:n][problem._split] == 0) | (x[n:] == 0))


def test_exact_zeros_where_both_halves_are_at_zero():
    X, y, w = make_data()
    problem = build(X, y, w, C=1.0, l1_ratio=1.0)
    x = problem.start(np.zeros((3, 4)), np.array([0.3, -0.1, -0.2]))
    coef, _ = problem.solution(x)
    assert_array_equal(coef, 0.0)
    assert not np.signbit(coef).any()


@pytest.mark.parametrize("K", [2, 3, 4, 5])
def test_canonical_shift_keeps_the_l1_norm_minimal(K):
    rng = np.random.default_rng(K)
    coef = rng.standard_normal((K, 6))
    coef[:, 0] = 0.0
    cols = np.ones(6, dtype=bool)
    l1 = np.array([True] * 5 + [False])
    # Move every L1 column to an optimum of its shift: 0 in the median
    # interval (for odd K the median itself is 0).
    coef[:, :5] -= np.median(coef[:, :5], axis=0)
    out = canonical_shift(coef, cols, l1)
    # Predictions: columns move by a constant across classes.
    assert_allclose(np.ptp(out - coef, axis=0), 0.0, atol=1e-15)
    # The L1 norm stays minimal (it cannot decrease by any shift).
    assert_allclose(np.abs(out[:, :5]).sum(axis=0),
                    np.abs(coef[:, :5]).sum(axis=0), rtol=1e-12)
    # Smallest norm among the optimal shifts: the centred column clipped to
    # the median interval; the unpenalized column is centred.
    assert_allclose(out[:, 5].sum(), 0.0, atol=1e-12)
    if K % 2:
        assert_array_equal(out[:, :5], coef[:, :5])  # unique optimum
    if K == 2:
        assert_allclose(out[0, :5], -out[1, :5], rtol=1e-12)
    assert_array_equal(out[:, 0], 0.0)  # interval [0, 0]: zeros stay exact


def test_canonical_shift_respects_bounds():
    coef = np.array([[0.0, 0.0], [2.0, 3.0]])  # K=2: interval [0, 2] / [0, 3]
    out = canonical_shift(coef, np.ones(2, bool), np.ones(2, bool), lower=0.0)
    assert_array_equal(out, coef)  # cannot move down: min entry at 0
    out = canonical_shift(coef, np.ones(2, bool), np.ones(2, bool),
                          upper=np.array([[np.inf, np.inf], [0.5, np.inf]]))
    # Column 0 would centre to (-1, 1) but its upper bound stops it at
    # (-1.5, 0.5), still in the optimal interval; column 1 centres.
    assert_allclose(out, [[-1.5, -1.5], [0.5, 1.5]])


@pytest.mark.parametrize("l1_ratio", [0.0, 0.5])
def test_penalty_counts_C_in_the_users_units(l1_ratio):
    # Weights divided by a power of two with that weight_scale: the same
    # objective, value for value, as the undivided weights (C is the user's).
    X, y, w = make_data()
    coef = np.random.default_rng(3).uniform(-1, 1, (3, 4))
    intercept = np.array([0.2, -0.1, -0.1])
    for C in (0.05, 1.0, 7.0):
        plain = build(X, y, w, C=C, l1_ratio=l1_ratio)
        scaled = build(X, y, w / 8.0, C=C, l1_ratio=l1_ratio, weight_scale=8.0)
        x, x_scaled = plain.start(coef, intercept), scaled.start(coef, intercept)
        assert_allclose(scaled.loss_grad(x_scaled)[0], plain.loss_grad(x)[0],
                        rtol=1e-14)
        assert_allclose(plain.loss_grad(x)[0],
                        elastic_net(X, y, w, coef, intercept, C, l1_ratio),
                        rtol=1e-12)


def test_penalty_validates_once_and_drops_absent_classes():
    with pytest.raises(ValueError, match="penalty_factor has shape"):
        penalty_of(penalty_factor=np.ones(3))
    with pytest.raises(ValueError, match="coef_bounds must allow zero"):
        penalty_of(lower=0.5)
    # All-infinite bounds are no bounds; positive is lower = 0.
    assert not penalty_of(lower=-np.inf, upper=np.inf).bounded
    positive = penalty_of(positive=True)
    assert_array_equal(positive.lower, 0.0)
    upper = np.full((3, 4), np.inf)
    upper[2] = 1.0
    bounded = penalty_of(upper=upper)
    kept = bounded.for_classes(np.array([True, True, False]))
    assert not kept.bounded  # only the dropped class was bounded
    kept = bounded.for_classes(np.array([False, True, True]))
    assert_array_equal(kept.upper, upper[1:])
    # Too small a C for the weights: its strength would overflow.
    with pytest.raises(ValueError, match="C=1e-300 is too small"):
        penalty_of(C=1e-300).strength(1e-10)


@pytest.mark.parametrize("l1_ratio", [0.0, 1.0])
def test_entries_at_a_bound_map_exactly_onto_it(l1_ratio):
    # theta = lower * s, and (lower * s) / s is not lower for every s: an
    # entry the solver left at its bound must still read as on the bound
    # (a hair inside it is a free entry with a large gradient to a KKT check).
    X, y, w = make_data(d=40)
    X = X * np.linspace(0.37, 13.1, 40)
    lower, upper = -0.05, 0.3
    problem = build(X, y, w, l1_ratio=l1_ratio, lower=lower, upper=upper)
    sigma = problem.objective.sigma
    assert np.any((lower * sigma) / sigma != lower)  # the case is exercised
    theta = np.where(np.arange(len(problem.theta_lb)) % 2 == 0,
                     problem.theta_lb, problem.theta_ub)
    coef, _ = problem.to_original(problem.split(np.nan_to_num(theta, posinf=0.0,
                                                              neginf=0.0)))
    on_bound = np.isclose(coef, lower, rtol=0, atol=1e-12) | np.isclose(
        coef, upper, rtol=0, atol=1e-12)
    assert np.all(on_bound)
    assert np.all((coef == lower) | (coef == upper))
