"""Ill-conditioned single fits: the Hessian after 100 iterations, or not.

A ``SoftmaxClassifier`` fit that is still running after 100 iterations (or
after as many as forming the Hessian costs, if more) goes on with the exact
Hessian as L-BFGS-B's preconditioner, where it applies: dense float64 data,
at most 1,024 parameters, an L2 penalty without bounds
(``sksoftmax/_hessian.py``, ``Fitter._newton_lbfgs``). This times, in
alternating runs inside one process (median of ``--repeat``):

- ``SoftmaxClassifier(C=C, tol=tol)`` (its default ``tol=2e-5`` and
  ``1e-8``): as shipped;
- the same with the Hessian switched off (``_fitter._HESSIAN_AFTER`` past
  ``max_iter``): plain L-BFGS-B, as before;
- ``LogisticRegression(C=C)`` (lbfgs) at its defaults, and with
  ``max_iter=1000`` (both with SciPy's BLAS on one thread, LR's fastest on
  these small problems: with two threads an iteration took 11 ms on digits);

on raw digits (pixel counts 0..16) at C = 1, 100, 1e4 and on wine and breast
cancer without intercept (unscaled columns), and prints the iterations, the
time over the default ``LogisticRegression``'s and the gap
``(f - f*) / f*``. ``f*`` is the lower objective of a
``LogisticRegression(tol=1e-10, max_iter=20000)`` fit and a
``SoftmaxClassifier(tol=1e-12)`` fit.

Run from the repository root (a minute or two)::

    python benchmarks/bench_hard_fits.py
    python benchmarks/bench_hard_fits.py --repeat 5 --tols 1e-4 1e-6
"""

import argparse
import statistics
import sys
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT), str(ROOT.parent)]
from _problems import objective, timed_fit  # noqa: E402

import sksoftmax._fitter as fitter_module  # noqa: E402
from sksoftmax import SoftmaxClassifier  # noqa: E402


def cases():
    digits = load_digits(return_X_y=True)
    yield "digits raw", digits, 1.0, True
    yield "digits raw", digits, 100.0, True
    yield "digits raw", digits, 1e4, True
    yield "wine, no intercept", load_wine(return_X_y=True), 1.0, False
    yield "cancer, no intercept", load_breast_cancer(return_X_y=True), 1.0, False


class _PlainLBFGS:
    """``SoftmaxClassifier`` with the Hessian switched off during ``fit``."""

    def __init__(self, **params):
        self.model = SoftmaxClassifier(**params)

    def fit(self, X, y):
        before = fitter_module._HESSIAN_AFTER
        fitter_module._HESSIAN_AFTER = 10**9
        try:
            self.model.fit(X, y)
        finally:
            fitter_module._HESSIAN_AFTER = before
        return self.model


def solvers(C, tol, fit_intercept):
    ours = {"C": C, "fit_intercept": fit_intercept}
    if tol is not None:
        ours["tol"] = tol
    lr = {"C": C, "fit_intercept": fit_intercept}
    return {
        "SoftmaxClassifier": lambda: SoftmaxClassifier(**ours),
        "same, no Hessian": lambda: _PlainLBFGS(**ours),
        "LR": lambda: _OneThread(LogisticRegression(**lr)),
        "LR(max_iter=1000)": lambda: _OneThread(
            LogisticRegression(**lr, max_iter=1000)),
    }


class _OneThread:
    """``model.fit`` with the BLAS on one thread."""

    def __init__(self, model):
        self.model = model

    def fit(self, X, y):
        with threadpool_limits(1, user_api="blas"):
            return self.model.fit(X, y)


def optimum(X, y, C, fit_intercept, value):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with threadpool_limits(1, user_api="blas"):
            lr = LogisticRegression(C=C, fit_intercept=fit_intercept,
                                    tol=1e-10, max_iter=20_000).fit(X, y)
        fits = [lr,
                SoftmaxClassifier(C=C, fit_intercept=fit_intercept, tol=1e-12,
                                  max_iter=20_000).fit(X, y)]
    return min(value(m.coef_, m.intercept_) for m in fits)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tols", nargs="+", type=float, default=[None, 1e-8],
                        help="our tol values (default: ours, 2e-5, and 1e-8)")
    args = parser.parse_args(argv)
    print("| data | C | tol | solver | iterations | time / LR | gap | warned |")
    print("|---|---|---|---|---|---|---|---|")
    for name, (X, y), C, fit_intercept in cases():
        X = X.astype(np.float64)
        value = objective(X, y, C)
        f_opt = optimum(X, y, C, fit_intercept, value)
        for tol in args.tols:
            makers = solvers(C, tol, fit_intercept)
            times = {key: [] for key in makers}
            for _ in range(args.repeat):  # alternating
                for key, make in makers.items():
                    model, seconds, warned = timed_fit(make, X, y)
                    times[key].append(seconds)
                    n_iter = np.max(model.n_iter_)
                    gap = (value(model.coef_, model.intercept_) - f_opt) / f_opt
                    last = (n_iter, gap, warned)
                    times[key + " last"] = last
            base = statistics.median(times["LR"])
            for key in makers:
                n_iter, gap, warned = times[key + " last"]
                ratio = statistics.median(times[key]) / base
                shown = "default" if tol is None else f"{tol:g}"
                print(f"| {name} | {C:g} | {shown} | {key} | {n_iter} | "
                      f"{ratio:.2f} | {gap:.1e} | {'yes' if warned else ''} |",
                      flush=True)


if __name__ == "__main__":
    main()
