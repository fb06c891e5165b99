"""Study: the fewest L-BFGS iterations a precise L2 path could take.

``SoftmaxClassifierCV`` must give per-fold held-out scores within 1e-4
(relative) of fits to ``tol=1e-10`` (issue 22). It solves each point in
stages of tolerance until two stages' scores agree
(``sksoftmax/_path_tol.py``). This asks what a perfect stopping rule would
cost: an oracle that knows each point's exact score, and stops L-BFGS at the
first iteration whose held-out log-loss is within ``RTOL`` of it, on the same
path (same warm starts, extrapolation and carried curvature, same folds and
Cs as ``bench_cv.py``: 5 stratified folds, 10 Cs from 1e-4 to 1e4).

No stopping rule that reads only the run can stop earlier than the oracle,
so the oracle's iterations times the cost of an iteration bound what any
rule on these L-BFGS runs can reach. Before the oracle runs, the script times
``SoftmaxClassifierCV`` and ``LogisticRegressionCV`` on the same path (3
alternating runs, median) for their cost per iteration (refit included),
and ends with the oracle's estimated time against LogisticRegressionCV's.

Run from the repository root (raw digits takes about two minutes, for the
reference fits)::

    python benchmarks/study_oracle_path.py std 1e-4
    python benchmarks/study_oracle_path.py raw 1e-4
"""
import dataclasses
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import sksoftmax._cv as cvm
from sksoftmax import SoftmaxClassifierCV

warnings.simplefilter("ignore")

X, y = load_digits(return_X_y=True)
if sys.argv[1] == "std":
    X = StandardScaler().fit_transform(X)
RTOL = float(sys.argv[2])
Cs = np.logspace(-4, 4, 10)
folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y))
rows = []  # (C, oracle iterations, reference iterations)


def cost_per_iteration():
    """Median seconds of ours and LogisticRegressionCV, and their seconds
    per iteration."""
    times = {"ours": [], "lrcv": []}
    for _ in range(3):
        start = time.perf_counter()
        ours = SoftmaxClassifierCV(Cs=Cs, cv=folds, scoring="neg_log_loss").fit(X, y)
        times["ours"].append(time.perf_counter() - start)
        start = time.perf_counter()
        lrcv = LogisticRegressionCV(Cs=Cs, cv=folds, scoring="neg_log_loss").fit(X, y)
        times["lrcv"].append(time.perf_counter() - start)
    t_ours, t_lrcv = (statistics.median(times[k]) for k in ("ours", "lrcv"))
    n_ours = int(ours.n_iter_.sum()) + ours.refit_n_iter_
    n_lrcv = int(np.sum(lrcv.n_iter_))
    print(f"ours {t_ours:.3f} s, {n_ours} iterations "
          f"({t_ours / n_ours * 1e3:.3f} ms each); "
          f"LogisticRegressionCV {t_lrcv:.3f} s, {n_lrcv} iterations "
          f"({t_lrcv / n_lrcv * 1e3:.3f} ms each)")
    return t_lrcv, t_ours / n_ours


t_lrcv, per_iteration = cost_per_iteration()


class _StopWhenPrecise:
    """Per-iteration bridge: stop once the held-out score is within RTOL."""

    def __init__(self, problem, score, reference):
        self.problem, self.score, self.reference = problem, score, reference

    def __call__(self, x, f, grad_max, n_iter):
        value = self.score(*self.problem.solution(x))
        return abs(value - self.reference) <= RTOL * abs(self.reference)

    def close(self):
        pass


def oracle_point(self, C, init, tolerance, score):
    """A path point by the oracle: the reference fit, then a run that stops
    at the first precise iterate (from the same start and pairs)."""
    carried, fitter = self.pairs, self.fitter
    self.fitter = dataclasses.replace(fitter, warn=False, max_iter=100_000,
                                      max_fun=200_000)
    reference, _ = self.solve(C, init, 1e-10)
    target = score(reference.coef, reference.intercept)
    self.pairs = carried
    self.fitter = dataclasses.replace(
        self.fitter, callback=lambda problem, x0: _StopWhenPrecise(
            problem, score, target))
    result, _ = self.solve(C, init, 1e-14)
    self.fitter = fitter
    rows.append((C, result.n_iter, reference.n_iter))
    return result.coef, result.intercept, result.n_iter, 1e-14


cvm._FoldFit.point = oracle_point
SoftmaxClassifierCV(Cs=Cs, cv=folds, scoring="neg_log_loss", refit=False).fit(X, y)
for C in Cs:
    oracle = sum(r[1] for r in rows if r[0] == C)
    reference = sum(r[2] for r in rows if r[0] == C)
    print(f"C={C:.1e}: oracle {oracle:5d} iterations, tol=1e-10 {reference:5d}")
n_oracle = sum(r[1] for r in rows)
print(f"total: oracle {n_oracle}, tol=1e-10 {sum(r[2] for r in rows)} "
      f"iterations over 5 folds")
print(f"oracle at our cost per iteration: {n_oracle * per_iteration:.2f} s, "
      f"{n_oracle * per_iteration / t_lrcv:.2f}x LogisticRegressionCV")
