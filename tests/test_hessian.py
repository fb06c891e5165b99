"""The dense Hessian root that preconditions the L2 path (sksoftmax._hessian).

The Hessian is checked against central differences of the analytic gradient;
the root against the algebra a change of variables needs; a preconditioned
fit against the same fit without it (same optimum, far fewer iterations);
and the path uses it where it applies.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.sparse import csr_matrix
from sklearn.datasets import load_digits, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold

import sksoftmax._hessian as hessian_module
from sksoftmax import SoftmaxClassifierCV
from sksoftmax._cv import _FoldFit
from sksoftmax._fitter import Fitter
from sksoftmax._hessian import DenseHessianRoot, hessian_applies, iterations_worth
from sksoftmax._objective import SoftmaxObjective, column_scaling
from sksoftmax._penalty import Penalty
from sksoftmax._problem import PenalizedProblem


def wine_objective(fit_intercept, soft, penalty_factor=None):
    X, y = load_wine(return_X_y=True)  # raw: column scales 0.1 .. 1000
    rng = np.random.default_rng(0)
    weights = rng.uniform(0.5, 2.0, len(y))
    targets = rng.dirichlet(np.ones(3), len(y)) if soft else y
    mu, sigma = column_scaling(X, weights, fit_intercept)
    objective = SoftmaxObjective(X, targets, weights, 3, 2.0, fit_intercept,
                                 mu=mu, sigma=sigma)
    if penalty_factor is not None:
        objective.set_penalty(objective.l2_reg_strength, penalty_factor)
    theta = rng.normal(scale=0.3, size=objective.n_params)
    return X, weights, objective, theta


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("soft", [False, True])
def test_hessian_is_the_gradients_derivative(fit_intercept, soft):
    # H v against central differences of the analytic gradient, along random
    # directions; weights, soft targets and penalty factors included.
    pf = np.linspace(0.5, 2.0, 13)
    *_, objective, theta = wine_objective(fit_intercept, soft, pf)
    root = DenseHessianRoot.at(objective, theta)
    H = root.data_hessian + np.diag(hessian_module._penalty_diagonal(objective))
    assert_allclose(H, H.T, rtol=0, atol=1e-12 * np.abs(H).max())
    rng = np.random.default_rng(1)
    for _ in range(3):
        v = rng.normal(size=objective.n_params)
        h = 1e-5
        difference = (objective.loss_grad(theta + h * v)[1]
                      - objective.loss_grad(theta - h * v)[1]) / (2 * h)
        assert_allclose(H @ v, difference, rtol=1e-6,
                        atol=1e-8 * np.abs(difference).max())


def test_root_is_a_change_of_variables_for_the_hessian():
    # theta = theta0 + M u with M M' = H^{-1}, H the Hessian given curvature
    # along the intercepts' common shift (which changes nothing) and a ridge
    # of 1e-10 of its mean diagonal; the gradient maps there and back.
    *_, objective, theta = wine_objective(True, False)
    root = DenseHessianRoot.at(objective, theta)
    H = root.data_hessian + np.diag(hessian_module._penalty_diagonal(objective))
    scale = np.mean(np.diag(H))
    shift = np.zeros((3, 14))
    shift[:, -1] = 1 / np.sqrt(3)
    H = H + scale * np.outer(shift.ravel(), shift.ravel())
    H[np.diag_indices_from(H)] += hessian_module._RIDGE * scale
    v = np.random.default_rng(2).normal(size=objective.n_params)
    # Two triangular solves of a Hessian conditioned near 1e8 (raw wine):
    # rounding of about 1e-8 relative, depending on the BLAS threads.
    assert_allclose(root.apply(root.apply_transpose(H @ v)), v, rtol=1e-6,
                    atol=1e-8 * np.abs(v).max())
    g = objective.loss_grad(theta)[1]
    assert_allclose(root.apply_inverse_transpose(root.apply_transpose(g)), g,
                    rtol=1e-10, atol=1e-14)


def test_preconditioned_fit_reaches_the_same_optimum_in_far_fewer_iterations():
    # Raw digits at C=100 is ill-conditioned: L-BFGS alone takes hundreds of
    # iterations. From zero the Hessian at the start is far from the
    # optimum's (alone, 6,022 iterations): taken again every 50 iterations,
    # a few dozen.
    X, y = load_digits(return_X_y=True)
    X, y = X[::2], y[::2]
    weights = np.ones(len(y))
    mu, sigma = column_scaling(X, weights, True)

    def problem():
        objective = SoftmaxObjective(X, y, weights, 10, np.inf, True,
                                     mu=mu, sigma=sigma)
        return PenalizedProblem(objective, Penalty(100.0))

    start = (np.zeros((10, 64)), np.zeros(10))
    fitter = Fitter(tol=1e-9, max_iter=20_000)
    plain = fitter.fit(problem(), start)
    preconditioned = problem()
    root = DenseHessianRoot.at(preconditioned.objective,
                               preconditioned.start(*start))
    fast = fitter.fit(preconditioned, start, root=root,
                      refresh=DenseHessianRoot.at, refresh_every=50)
    # At tol=1e-9 the plain run ends where rounding stalls it; whether its
    # gap estimate there reads within the rounding floor depends on the
    # summation order of the BLAS kernel and X's memory order (a stall at
    # 3e-8 against the floor's 1.5e-8 on one of them).
    assert fast.converged
    assert fast.n_iter * 5 < plain.n_iter, (fast.n_iter, plain.n_iter)
    assert abs(fast.loss - plain.loss) <= 1e-9 * plain.loss
    assert_allclose(fast.coef, plain.coef, rtol=0,
                    atol=1e-3 * np.abs(plain.coef).max())


def test_where_the_hessian_applies():
    most = hessian_module.MAX_PARAMS
    assert hessian_applies(False, np.float64, most)
    assert not hessian_applies(False, np.float64, most + 1)
    assert not hessian_applies(True, np.float64, 10)
    assert not hessian_applies(False, np.float32, 10)
    # A Hessian is worth more iterations on more parameters, fewer on more
    # rows per parameter; never fewer than 10.
    assert iterations_worth(1000, 64, 650) > iterations_worth(1000, 8, 90) >= 10


def test_l2_path_uses_the_hessian_and_l1_path_does_not(monkeypatch):
    # The path switches to the Hessian once a point took more iterations
    # than it costs (every later point of the fold), never with an L1 part.
    used = []
    original = _FoldFit.precondition

    def recorded(self, C, init):
        used.append(original(self, C, init))
        return used[-1]

    monkeypatch.setattr(_FoldFit, "precondition", recorded)
    X, y = load_wine(return_X_y=True)
    folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    SoftmaxClassifierCV(Cs=6, cv=folds).fit(X, y)
    per_fold = np.array(used).reshape(3, 6)
    assert per_fold.any() and not per_fold[:, 0].any()
    for fold in per_fold:  # once switched, switched for good
        assert np.all(np.diff(fold.astype(int)) >= 0)
    used.clear()
    SoftmaxClassifierCV(Cs=6, cv=folds, l1_ratios=[0.5]).fit(X, y)
    assert not any(used)


@pytest.mark.parametrize("kind", ["sparse", "float32", "l1", "bounds"])
def test_no_hessian_where_it_does_not_apply(monkeypatch, kind):
    # Sparse or float32 data, L1 and bounded fits never form the Hessian, not
    # even where a run stalls (a stall once reached it on sparse data): paths
    # and single fits that L-BFGS finds hard (raw digits, C=100) alike.
    from sksoftmax import SoftmaxClassifier

    def refuse(*args):
        raise AssertionError("the Hessian was formed")

    monkeypatch.setattr(DenseHessianRoot, "at", classmethod(refuse))
    X, y = load_digits(return_X_y=True)
    X, y = X[::4], y[::4]
    X = {"sparse": csr_matrix(X), "float32": X.astype(np.float32)}.get(kind, X)
    params = {"l1": {"l1_ratio": 0.5},
              "bounds": {"coef_bounds": (-1.0, 1.0)}}.get(kind, {})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if kind in ("sparse", "float32", "l1"):
            SoftmaxClassifierCV(Cs=[1e-2, 1.0, 1e2, 1e4], cv=3,
                                l1_ratios=[params.get("l1_ratio", 0.0)]).fit(X, y)
        SoftmaxClassifier(C=100.0, max_iter=300, **params).fit(X, y)


def test_single_hard_fit_reaches_the_references_optimum():
    # Raw digits at C=100: L-BFGS alone stopped at max_iter=1000 with a
    # ConvergenceWarning. The fit goes on with the Hessian after 100
    # iterations: no warning, a few hundred iterations, and the optimum of
    # LogisticRegression's lbfgs run to tol=1e-10 (same objective: mean
    # cross-entropy + ||W||^2 / (2 C n)).
    from sklearn.linear_model import LogisticRegression

    from sksoftmax import SoftmaxClassifier

    X, y = load_digits(return_X_y=True)
    X, y = X[::2], y[::2]
    C = 100.0

    def objective(coef, intercept):
        Z = X @ coef.T + intercept
        Z = Z - Z.max(axis=1, keepdims=True)
        log_p = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
        return (-np.mean(log_p[np.arange(len(y)), y])
                + np.sum(coef**2) / (2 * C * len(y)))

    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        ours = SoftmaxClassifier(C=C, tol=1e-8).fit(X, y)
    assert ours.n_iter_ < 400
    ref = LogisticRegression(C=C, tol=1e-10, max_iter=20_000).fit(X, y)
    f_ref = objective(ref.coef_, ref.intercept_)
    f_ours = objective(ours.coef_, ours.intercept_)
    assert f_ours <= f_ref + 1e-8 * f_ref


def test_a_chunk_that_gains_nothing_after_a_hessian_ends_the_run(monkeypatch):
    # Chunks that stall without moving (a rounding floor L-BFGS-B does not
    # recognize) would otherwise take a Hessian after every chunk until
    # max_iter: one Hessian, then the run ends, unconverged.
    from sksoftmax._solver import SolverResult

    *_, objective, theta = wine_objective(True, False)
    problem = PenalizedProblem(objective, Penalty(2.0))
    coef, _ = objective.to_original(theta)

    def stalled(self, running, x, bridge, budget=None):
        return SolverResult(x=x, fun=running.loss_grad(x)[0], n_iter=1,
                            n_evaluations=1, converged=False, reason="stall",
                            grad_max=1.0)

    monkeypatch.setattr(Fitter, "_minimize", stalled)
    taken = []

    def refresh(objective, theta):
        taken.append(theta)
        return DenseHessianRoot.at(objective, theta)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = Fitter(tol=1e-10, max_iter=1000).fit(
            problem, objective.to_original(theta), refresh=refresh,
            refresh_every=10)
    assert len(taken) == 1 and not result.converged
    assert result.n_iter == 2
    assert_allclose(result.coef, coef, rtol=1e-12)  # where it started


def test_row_sums_without_a_hessian_never_form_it():
    # An objective over row sums that only give the loss and gradient (any
    # callable) fits as before: hessian_applies says no.
    from sksoftmax._objective import Objective

    *_, objective, theta = wine_objective(True, False)
    plain = Objective(lambda coef, intercept: objective.row_sums(coef, intercept),
                      objective.weight_sum, 3, 13, np.inf, True,
                      mu=objective.mu, sigma=objective.column_sigma)
    assert objective.hessian_applies() and not plain.hessian_applies()
    assert_allclose(plain.loss_grad(plain.from_original(
        *objective.to_original(theta)))[0], objective.loss_grad(theta)[0]
        - 0.5 * objective.l2_reg_strength
        * np.sum(objective.to_original(theta)[0] ** 2), rtol=1e-12)
