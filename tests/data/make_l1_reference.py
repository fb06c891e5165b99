"""Generate ``l1_reference.npz``: reference optima for tests/test_penalties.py.

Run from the repository root (the results are committed, so the tests never
run the reference solvers); one file ``l1_reference_<set>.npz`` per data
set, so the sets can be made in parallel::

    python tests/data/make_l1_reference.py iris_raw iris_std wine_std wine_raw
    python tests/data/make_l1_reference.py digits_std   # about 20 minutes
    python tests/data/make_l1_reference.py digits_raw   # about 40 minutes

For each data set (iris, wine, digits; raw and standardized), ``l1_ratio`` in
{0.25, 0.5, 1} and ``C`` in {0.01, 0.1, 1, 10} it stores the optimal value of

    f(W, b) = mean_i CE_i + (l1_ratio ||W||_1
                             + (1 - l1_ratio) ||W||^2 / 2) / (C n)

(scikit-learn's ``LogisticRegression(solver="saga")`` objective) and, where
the reference has exact zeros, the support of ``W``:

- ``saga``: ``LogisticRegression(solver="saga", C=C, l1_ratio=l1_ratio,
  tol=1e-10, max_iter=100000)`` where it reaches the optimum in reasonable
  time (iris, standardized wine, standardized digits with ``C <= 0.1``):
  value and support; ``converged`` says whether saga stopped before
  ``max_iter`` *and* its solution satisfies the KKT conditions (largest
  violation, per column in units of its standard deviation, at most 1e-6;
  saga's own stopping test, on the change of the weights, sometimes stops
  it early at strong L1 penalties);
- ``cvxpy``: where saga cannot get there in reasonable time (raw wine and raw
  digits, whose columns span 0.1 to 1,000, so that saga's step size, set by
  the largest row norm, is tiny; standardized digits with ``C = 1``), the
  same objective solved by an interior-point method (cvxpy 1.9 with
  Clarabel, tolerances 1e-11): value only (an interior point has no exact
  zeros); ``converged`` is Clarabel's status. Digits takes 3 to 7 minutes
  per problem that way, hence the subsets of ``C``.

The value is computed here from the reference's coefficients with the
objective written out above, independently of sksoftmax.
"""

import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits, load_iris, load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

L1_RATIOS = (0.25, 0.5, 1.0)
CS = (0.01, 0.1, 1.0, 10.0)
# The reference solver of each data set and C.
SOLVERS = {
    "iris_raw": dict.fromkeys(CS, "saga"),
    "iris_std": dict.fromkeys(CS, "saga"),
    "wine_std": dict.fromkeys(CS, "saga"),
    "wine_raw": dict.fromkeys(CS, "cvxpy"),
    "digits_std": {0.01: "saga", 0.1: "saga", 1.0: "cvxpy"},
    "digits_raw": {0.1: "cvxpy", 1.0: "cvxpy"},
}


def datasets():
    out = {}
    for name, loader in (("iris", load_iris), ("wine", load_wine),
                         ("digits", load_digits)):
        X, y = loader(return_X_y=True)
        out[f"{name}_raw"] = (X, y)
        out[f"{name}_std"] = (StandardScaler().fit_transform(X), y)
    return out


def objective(X, y, coef, intercept, C, l1_ratio):
    n = len(y)
    Z = X @ coef.T + intercept
    Z = Z - Z.max(axis=1, keepdims=True)
    ce = np.log(np.exp(Z).sum(axis=1)) - Z[np.arange(n), y]
    penalty = (l1_ratio * np.abs(coef).sum()
               + (1 - l1_ratio) * (coef**2).sum() / 2) / (C * n)
    return float(ce.mean() + penalty)


def kkt_violation(X, y, coef, intercept, C, l1_ratio):
    n, K = len(y), coef.shape[0]
    Z = X @ coef.T + intercept
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    R = (P - np.eye(K)[y]) / n
    G = R.T @ X + (1 - l1_ratio) / (C * n) * coef
    l1 = l1_ratio / (C * n)
    v = np.where(coef == 0, np.maximum(np.abs(G) - l1, 0),
                 np.abs(G + l1 * np.sign(coef)))
    return max(np.max(v / np.maximum(X.std(axis=0), 1e-3)),
               np.max(np.abs(R.sum(axis=0))))


def saga(X, y, C, l1_ratio, max_iter=100000):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = LogisticRegression(solver="saga", C=C, l1_ratio=l1_ratio,
                                 tol=1e-10, max_iter=max_iter).fit(X, y)
    ok = (clf.n_iter_[0] < max_iter
          and kkt_violation(X, y, clf.coef_, clf.intercept_, C, l1_ratio) <= 1e-6)
    return clf.coef_, clf.intercept_, bool(ok)


def cvx(X, y, C, l1_ratio):
    import cvxpy as cp

    n, d = X.shape
    K = int(y.max()) + 1
    W = cp.Variable((K, d))
    b = cp.Variable(K)
    Z = X @ W.T + np.ones((n, 1)) @ b[None, :]
    Y = np.eye(K)[y]
    ce = cp.sum(cp.log_sum_exp(Z, axis=1)) - cp.sum(cp.multiply(Y, Z))
    penalty = (l1_ratio * cp.sum(cp.abs(W))
               + (1 - l1_ratio) * cp.sum_squares(W) / 2) / C
    problem = cp.Problem(cp.Minimize(ce + penalty))
    problem.solve(solver=cp.CLARABEL, tol_gap_abs=1e-11, tol_gap_rel=1e-11,
                  tol_feas=1e-11, max_iter=500)
    return W.value, b.value, problem.status == "optimal"


def main(names):
    sets = datasets()
    for name in names:
        rows = {"C": [], "l1_ratio": [], "value": [], "converged": [],
                "source": []}
        supports = {}
        X, y = sets[name]
        for l1_ratio in L1_RATIOS:
            for C, source in SOLVERS[name].items():
                start = time.perf_counter()
                if source == "saga":
                    coef, intercept, ok = saga(X, y, C, l1_ratio)
                    supports[f"support:{C}/{l1_ratio}"] = np.packbits(coef != 0)
                else:
                    coef, intercept, ok = cvx(X, y, C, l1_ratio)
                value = objective(X, y, coef, intercept, C, l1_ratio)
                for key, v in zip(rows, (C, l1_ratio, value, ok, source),
                                  strict=True):
                    rows[key].append(v)
                print(f"{name}/{C}/{l1_ratio} {source} {value:.15g} {ok} "
                      f"{time.perf_counter() - start:.1f}s", flush=True)
        out = Path(__file__).with_name(f"l1_reference_{name}.npz")
        np.savez_compressed(out, **{k: np.asarray(v) for k, v in rows.items()},
                            **supports)
        print("wrote", out, file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:] or list(SOLVERS))
