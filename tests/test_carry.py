"""Curvature carried along a path (sksoftmax._carry), against direct formulas."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import load_digits
from sklearn.model_selection import StratifiedKFold

from sksoftmax import SoftmaxClassifier, SoftmaxClassifierCV
from sksoftmax._carry import CurvaturePairs, InverseHessianRoot
from sksoftmax._objective import SoftmaxObjective, column_scaling


def two_loop(s, y, v):
    """The L-BFGS inverse Hessian times v (Nocedal and Wright, Alg. 7.4)."""
    rho = 1.0 / np.einsum("ij,ij->i", s, y)
    q, alpha = v.copy(), np.empty(len(s))
    for i in range(len(s) - 1, -1, -1):
        alpha[i] = rho[i] * s[i] @ q
        q -= alpha[i] * y[i]
    r = (s[-1] @ y[-1]) / (y[-1] @ y[-1]) * q
    for i in range(len(s)):
        r += s[i] * (alpha[i] - rho[i] * y[i] @ r)
    return r


def test_root_squares_to_the_lbfgs_inverse_hessian():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((40, 40))
    A = A @ A.T + 0.1 * np.eye(40)
    s = rng.standard_normal((7, 40))
    y = s @ A
    root = InverseHessianRoot(s, y)
    for v in rng.standard_normal((5, 40)):
        assert_allclose(root.apply(root.apply(v)), two_loop(s, y, v), rtol=1e-8,
                        atol=1e-10 * np.linalg.norm(v))
        assert_allclose(root.apply_inverse(root.apply(v)), v, rtol=1e-8,
                        atol=1e-10)
    # Symmetric: u . M v == v . M u.
    u, v = rng.standard_normal((2, 40))
    assert_allclose(u @ root.apply(v), v @ root.apply(u), rtol=1e-10)


@pytest.mark.parametrize("penalty_factor", [None, np.linspace(0.0, 2.0, 6)])
def test_pairs_move_exactly_to_another_objective_of_the_path(penalty_factor):
    # Steps and gradient changes between two points, measured in the
    # coordinates of one objective (C=0.01), moved to those of another (C=10),
    # against the ones measured there.
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 6)) * np.logspace(-1, 1, 6) + 3.0
    labels = rng.integers(0, 3, 200)
    w = rng.uniform(0.5, 2.0, 200)
    mu, sigma = column_scaling(X, w, True)

    def objective(C, curvature):
        obj = SoftmaxObjective(X, labels, w, 3, C, True, mu=mu, sigma=sigma,
                               curvature=curvature)
        obj.set_penalty(obj.l2_reg_strength, penalty_factor)
        return obj

    points = [(rng.standard_normal((3, 6)) * 0.1, rng.standard_normal(3))
              for _ in range(3)]

    def pairs_in(obj):
        thetas = [obj.from_original(*p) for p in points]
        grads = [obj.loss_grad(t)[1] for t in thetas]
        return np.diff(thetas, axis=0), np.diff(grads, axis=0)

    first = objective(0.01, 0.05)
    pairs = CurvaturePairs(*pairs_in(first), first)
    # Same data curvature: the move is exact.
    second = objective(10.0, 0.05)
    moved = pairs.to(second)
    s, y = pairs_in(second)
    assert_allclose(moved.s, s, rtol=1e-10, atol=1e-14)
    assert_allclose(moved.y, y, rtol=1e-8, atol=1e-12)
    # Another data curvature: the data term's part scales with it, the
    # penalty's part (l2 * pf / sigma^2 per coefficient) stays exact.
    third = objective(10.0, 0.2)
    moved = pairs.to(third)
    s, y = pairs_in(third)
    pf = np.ones(6) if penalty_factor is None else penalty_factor
    penalty = np.zeros((3, 7))
    penalty[:, :6] = third.l2_reg_strength * pf / third.sigma**2
    penalty_part = s * penalty.ravel()
    assert_allclose(moved.s, s, rtol=1e-10, atol=1e-14)
    assert_allclose(moved.y, (y - penalty_part) * (0.2 / 0.05) + penalty_part,
                    rtol=1e-8, atol=1e-12)


def test_path_with_carried_curvature_reaches_the_same_optima():
    # The path's fits, preconditioned with the previous fit's curvature, are
    # the fits SoftmaxClassifier makes from scratch at each C.
    X, y = load_digits(return_X_y=True)
    X, y = X[::3], y[::3]
    folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    Cs = [1e-3, 1e-2, 1e-1, 1.0]
    cv = SoftmaxClassifierCV(Cs=Cs, cv=folds, tol=1e-10, max_iter=5000,
                             refit=False).fit(X, y)
    for i, (train, _) in enumerate(folds):
        for c, C in enumerate(Cs):
            ref = SoftmaxClassifier(C=C, tol=1e-10, max_iter=5000).fit(
                X[train], y[train])
            scale = np.abs(ref.coef_).max()
            assert_allclose(cv.coefs_paths_[i, 0, c], ref.coef_, rtol=0,
                            atol=1e-5 * scale)
