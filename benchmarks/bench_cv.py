"""Cross-validating C: SoftmaxClassifierCV against grid searches.

Times, in alternating runs inside this one process (median of ``--repeat``),
on the same 5 stratified folds and the same 10 Cs from 1e-4 to 1e4
(``scoring="neg_log_loss"``, ``n_jobs=None`` everywhere):

- ``SoftmaxClassifierCV(Cs=Cs, cv=folds)``: the warm-started path;
- ``GridSearchCV(SoftmaxClassifier(), {"C": Cs})``: every fit from scratch;
- ``LogisticRegressionCV(Cs=Cs, cv=folds, scoring="neg_log_loss")``;
- ``SoftmaxClassifierCV(cv=folds)`` on its own data-derived grid, and
  ``LogisticRegressionCV(cv=folds)`` at its defaults (accuracy scoring):
  each at its own defaults, so only the times are comparable.

and prints the chosen C and the L-BFGS iterations. ``--check`` also runs the
reference ``GridSearchCV(SoftmaxClassifier(tol=1e-10))`` once and prints,
for each method, whether it chose the reference's C and the largest
relative difference between its mean score curve and the reference's.
``--tight-lr TOL`` adds ``LogisticRegressionCV(tol=TOL, max_iter=10000)``,
LogisticRegressionCV at a precision closer to ours.
``--jobs`` times ``n_jobs=2`` with threads (the default) against loky
processes.

Run from the repository root::

    python benchmarks/bench_cv.py                  # the issue's sizes
    python benchmarks/bench_cv.py --quick          # smoke run, seconds
    python benchmarks/bench_cv.py --check --repeat 1
"""

import argparse
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from joblib import parallel_config
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.preprocessing import StandardScaler

ROOT = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT), str(ROOT.parent)]
from _problems import unscaled  # noqa: E402
from bench_lbfgs import print_table  # noqa: E402

from sksoftmax import SoftmaxClassifier, SoftmaxClassifierCV  # noqa: E402

CS = np.logspace(-4, 4, 10)


def problems(quick):
    X, y = load_digits(return_X_y=True)
    n = 4_000 if quick else 20_000
    return {
        "digits": (X, y),
        "digits, standardized": (StandardScaler().fit_transform(X), y),
        f"{n:,} x 50, 5 classes": unscaled(n, 50, 5),
    }


def methods(folds, tight_lr=None):
    tight = {} if tight_lr is None else {
        f"LogisticRegressionCV(tol={tight_lr:g})": lambda: LogisticRegressionCV(
            Cs=CS, cv=folds, scoring="neg_log_loss", l1_ratios=(0.0,),
            use_legacy_attributes=False, tol=tight_lr, max_iter=10_000)}
    return {
        "SoftmaxClassifierCV": lambda: SoftmaxClassifierCV(Cs=CS, cv=folds),
        "GridSearchCV(SoftmaxClassifier)": lambda: GridSearchCV(
            SoftmaxClassifier(), {"C": CS}, cv=folds, scoring="neg_log_loss"),
        "LogisticRegressionCV": lambda: LogisticRegressionCV(
            Cs=CS, cv=folds, scoring="neg_log_loss", l1_ratios=(0.0,),
            use_legacy_attributes=False),
        "SoftmaxClassifierCV, own grid": lambda: SoftmaxClassifierCV(cv=folds),
        # Its defaults: Cs=10 on logspace(-4, 4), accuracy scoring.
        "LogisticRegressionCV, own defaults": lambda: LogisticRegressionCV(
            cv=folds),
        **tight,
    }


def chosen_C(model):
    if hasattr(model, "best_params_"):
        return float(model.best_params_["C"])
    return float(np.ravel(model.C_)[0])


def mean_scores(model):
    if hasattr(model, "cv_results_"):
        return model.cv_results_["mean_test_score"]
    return model.scores_.mean(axis=0)[0]


def iterations(model):
    n_iter = getattr(model, "n_iter_", None)
    return "" if n_iter is None else int(np.sum(n_iter))


def run(problem, X, y, repeat, check, tight_lr=None):
    folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y))
    makers = methods(folds, tight_lr)
    times = {name: [] for name in makers}
    fitted = {}
    for _ in range(repeat):
        for name, make in makers.items():
            model = make()
            start = time.perf_counter()
            model.fit(X, y)
            times[name].append(time.perf_counter() - start)
            fitted[name] = model
    reference = None
    if check:
        reference = GridSearchCV(SoftmaxClassifier(tol=1e-10, max_iter=10_000),
                                 {"C": CS}, cv=folds, scoring="neg_log_loss")
        reference.fit(X, y)
    base = statistics.median(times["GridSearchCV(SoftmaxClassifier)"])
    lrcv = statistics.median(times["LogisticRegressionCV"])
    rows = []
    for name, model in fitted.items():
        t = statistics.median(times[name])
        row = [problem, name, f"{t:.2f}", f"{t / base:.2f}", f"{t / lrcv:.2f}",
               f"{chosen_C(model):.3g}", str(iterations(model))]
        if reference is not None:
            if ", own " in name:
                row += ["", ""]
            else:
                ref = mean_scores(reference)
                diff = np.max(np.abs(mean_scores(model) - ref) / np.abs(ref))
                row += [str(chosen_C(model) == chosen_C(reference)), f"{diff:.1e}"]
        rows.append(row)
    return rows


def time_jobs(X, y, repeat):
    """n_jobs=2: threads (the default) against loky processes."""
    folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y))
    times = {"n_jobs=None": [], "threads": [], "loky": []}
    for _ in range(repeat):
        for name in times:
            est = SoftmaxClassifierCV(Cs=CS, cv=folds,
                                      n_jobs=None if name == "n_jobs=None" else 2)
            start = time.perf_counter()
            if name == "loky":
                with parallel_config(backend="loky"):
                    est.fit(X, y)
            else:
                est.fit(X, y)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--jobs", action="store_true")
    parser.add_argument("--tight-lr", type=float, default=None, metavar="TOL",
                        help="also LogisticRegressionCV(tol=TOL, max_iter=10000)")
    parser.add_argument("--problems", nargs="*", default=None,
                        help="indices into the problem list (0, 1, 2)")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)
    print(f"load before: {os.getloadavg()}", flush=True)
    header = ["problem", "method", "median s", "x GridSearchCV(Softmax)",
              "x LogisticRegressionCV", "C", "iterations"]
    if args.check:
        header += ["same C as tol=1e-10 grid", "max rel. mean score diff"]
    rows = []
    items = list(problems(args.quick).items())
    if args.problems:
        items = [items[int(i)] for i in args.problems]
    for problem, (X, y) in items:
        rows += run(problem, X, y, args.repeat, args.check, args.tight_lr)
        print_table(header, rows[-len(methods((), args.tight_lr)):])
        print(flush=True)
    print_table(header, rows)
    if args.jobs:
        X, y = items[-1][1]
        print(f"\nn_jobs on {items[-1][0]}:", time_jobs(X, y, args.repeat))
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
