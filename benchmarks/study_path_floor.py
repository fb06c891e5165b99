"""Study: where the time of a precise path goes, and the floor under it.

Two targets of issue 22 were missed on standardized digits (1,797 x 64, 10
classes): the L1 path against cv.glmnet (0.5x asked) and the L2 path against
LogisticRegressionCV (1.0x asked), with every per-fold score within 1e-4 of
a ``tol=1e-10`` grid search and L-BFGS-B (SciPy) as the solver. This script
measures what those constraints cost, apart from how the path is run:

``l1``
    ``SoftmaxClassifierCV(l1_ratios=[0.5])`` on glmnet's default sequence of
    100 lambdas (``lambda_max`` down to ``1e-4 lambda_max``) and 5
    stratified folds, as ``bench_glmnet.py --modes cv`` runs it. Then the
    same path with each point run **once**, at the tolerance its stages
    ended at (a perfect guess of each point's precision: no staging), to
    tell what the stages cost. Then the floor of its iterations: SciPy's
    L-BFGS-B cost per iteration on a problem of the same size whose
    evaluation costs nothing, plus the cost of one evaluation on a fold,
    times the iterations and evaluations of the faster run.
``l2``
    ``SoftmaxClassifierCV`` on 10 Cs from 1e-4 to 1e4 (``bench_cv.py``'s
    standardized digits) against ``LogisticRegressionCV`` on the same path:
    the Hessians formed, what they cost (forming and factoring), and the
    plain iterations.

Evaluations, Hessians and factorizations are counted and timed by wrapping
the package's own functions. Run from the repository root::

    python benchmarks/study_path_floor.py l1 --glmnet-seconds 4.44
    python benchmarks/study_path_floor.py l2

``--glmnet-seconds``: cv.glmnet's time on the same path (from
``bench_glmnet.py --modes cv --problems digits_std``); without it the target
line is left out.
"""

import argparse
import collections
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.optimize
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _problems import digits

import sksoftmax._cv as cvm
import sksoftmax._hessian as hessian
import sksoftmax._objective as objective
from sksoftmax import SoftmaxClassifier, SoftmaxClassifierCV

warnings.simplefilter("ignore")


# What Meter counts and times: name -> (owner, attribute).
METERED = {
    "evaluations": (objective.Objective, "loss_grad"),
    "hessians": (objective.Objective, "data_hessian"),
    "factorizations": (hessian.DenseHessianRoot, "__init__"),
}


class Meter:
    """Counts and seconds of the ``METERED`` functions: ``with Meter() as m``."""

    def __enter__(self):
        self.count, self.seconds = collections.Counter(), collections.Counter()
        self.saved = {}
        for name, (owner, attr) in METERED.items():
            self.saved[name] = getattr(owner, attr)
            setattr(owner, attr, self._timed(name, self.saved[name]))
        return self

    def _timed(self, name, func):
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - start
                self.count[name] += 1
        return timed

    def __exit__(self, *exc):
        for name, (owner, attr) in METERED.items():
            setattr(owner, attr, self.saved[name])


def lbfgsb_seconds_per_iteration(n_params, bounds, n_iter=300):
    """SciPy's own cost of an L-BFGS-B iteration, the evaluation excluded.

    A quadratic with eigenvalues from 1 to 1e4 (it does not converge within
    ``n_iter``), its minimizer inside the bounds; the time of as many
    evaluations outside the solver is taken off.
    """
    curvature = np.logspace(0, 4, n_params)

    def fun(x):
        r = x - 1.0
        return 0.5 * float(curvature @ (r * r)), curvature * r

    x0 = 2.0 + np.random.default_rng(0).random(n_params)
    box = scipy.optimize.Bounds(np.zeros(n_params), np.full(n_params, np.inf))
    times = []
    for _ in range(3):
        start = time.perf_counter()
        res = scipy.optimize.minimize(
            fun, x0, jac=True, method="L-BFGS-B", bounds=box if bounds else None,
            options=dict(maxiter=n_iter, gtol=0, ftol=0, maxfun=10 * n_iter))
        solver = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(res.nfev):
            fun(x0)
        times.append((solver - (time.perf_counter() - start)) / res.nit)
    return statistics.median(times)


def evaluation_seconds(X, y, C):
    """One evaluation of the objective on a training fold, at its optimum."""
    train = next(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y))[0]
    model = SoftmaxClassifier(C=C).fit(X[train], y[train])
    codes = np.searchsorted(model.classes_, y[train])
    obj = objective.SoftmaxObjective(
        X[train], codes, np.ones(len(train)), len(model.classes_), C, True)
    theta = obj.from_original(model.coef_, model.intercept_)
    times = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(200):
            obj.loss_grad(theta)
        times.append((time.perf_counter() - start) / 200)
    return statistics.median(times)


def glmnet_lambdas(X, y, alpha, n_lambda=100, ratio=1e-4):
    """glmnet's default sequence for ``n > p``: ``lambda_max`` to ``ratio``
    of it, log-spaced (``lambda_max`` the largest gradient of the null
    model over ``alpha``)."""
    codes = np.searchsorted(np.unique(y), y)
    priors = np.bincount(codes) / len(y)
    residual = priors[None, :] - np.eye(len(priors))[codes]
    top = np.max(np.abs(X.T @ residual)) / len(y) / alpha
    return top * ratio ** (np.arange(n_lambda) / (n_lambda - 1))


class OneRunPerPoint:
    """Inside the block, each point of a path runs once, at ``tols[key]``
    (the tolerance its stages ended at in an earlier run: ``record``)."""

    def __init__(self):
        self.tols, self.seen = {}, collections.Counter()
        self.point = cvm._FoldFit.point

    def record(self):
        study, point = self, self.point

        def recording(fit, C, init, tolerance, score):
            result = point(fit, C, init, tolerance, score)
            study.tols[study._key(C)] = result[3]
            return result
        return _Patch(self, recording)

    def replay(self):
        study, point = self, self.point

        def replaying(fit, C, init, tolerance, score):
            tol = study.tols[study._key(C)]
            tolerance.first = lambda: tol
            tolerance.next = lambda *args, **kwargs: None
            return point(fit, C, init, tolerance, score)
        return _Patch(self, replaying)

    def _key(self, C):
        key = (C, self.seen[C])
        self.seen[C] += 1
        return key


class _Patch:
    def __init__(self, study, point):
        self.study, self.point = study, point

    def __enter__(self):
        self.study.seen.clear()
        cvm._FoldFit.point = self.point

    def __exit__(self, *exc):
        cvm._FoldFit.point = self.study.point


def timed_fit(make, X, y):
    with Meter() as meter:
        start = time.perf_counter()
        model = make().fit(X, y)
        seconds = time.perf_counter() - start
    return model, seconds, meter


def study_l1(X, y, glmnet_seconds):
    lambdas = glmnet_lambdas(X, y, 0.5)
    Cs = 1 / (lambdas * X.shape[0] * 0.8)  # 5 folds: 4/5 of the rows train
    folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y))

    def make():
        return SoftmaxClassifierCV(Cs=Cs, l1_ratios=[0.5], cv=folds)

    once = OneRunPerPoint()
    with once.record():
        staged, t_staged, m_staged = timed_fit(make, X, y)
    with once.replay():
        single, t_single, m_single = timed_fit(make, X, y)
    per_iter = lbfgsb_seconds_per_iteration(staged.coef_.size
                                            + len(staged.classes_), True)
    per_eval = evaluation_seconds(X, y, 1.0)
    rows = [("staged (as shipped)", staged, t_staged, m_staged),
            ("one run per point at its final tol", single, t_single, m_single)]
    print("| L1 path, digits standardized | seconds | iterations | evaluations |")
    print("|---|---|---|---|")
    for name, model, seconds, meter in rows:
        print(f"| {name} | {seconds:.2f} | {int(np.sum(model.n_iter_)):,} | "
              f"{meter.count['evaluations']:,} |")
    n_iter = int(np.sum(single.n_iter_))
    n_eval = m_single.count["evaluations"]
    floor = n_iter * per_iter + n_eval * per_eval
    print(f"\nSciPy L-BFGS-B, per iteration (bounds, {staged.coef_.size + 10} "
          f"parameters, evaluation excluded): {per_iter * 1e3:.3f} ms")
    print(f"one evaluation on a training fold: {per_eval * 1e3:.3f} ms")
    print(f"floor of the one-run path: {n_iter:,} x {per_iter * 1e3:.3f} ms + "
          f"{n_eval:,} x {per_eval * 1e3:.3f} ms = {floor:.2f} s")
    if glmnet_seconds:
        print(f"0.5x cv.glmnet ({glmnet_seconds:.2f} s): {glmnet_seconds / 2:.2f} s;"
              f" the floor is {floor / glmnet_seconds:.2f}x cv.glmnet")


def study_l2(X, y):
    Cs = np.logspace(-4, 4, 10)
    folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y))
    ours, lrcv = [], []
    for _ in range(3):
        model, seconds, meter = timed_fit(lambda: SoftmaxClassifierCV(
            Cs=Cs, cv=folds, scoring="neg_log_loss"), X, y)
        ours.append((seconds, model, meter))
        start = time.perf_counter()
        LogisticRegressionCV(Cs=Cs, cv=folds, scoring="neg_log_loss").fit(X, y)
        lrcv.append(time.perf_counter() - start)
    seconds, model, meter = sorted(ours, key=lambda r: r[0])[1]
    t_lrcv = statistics.median(lrcv)
    formed = meter.seconds["hessians"] + meter.seconds["factorizations"]
    each = {name: meter.seconds[name] / max(meter.count[name], 1) * 1e3
            for name in ("hessians", "factorizations")}
    print("| L2 path, digits standardized | seconds |")
    print("|---|---|")
    print(f"| SoftmaxClassifierCV ({int(np.sum(model.n_iter_)):,} iterations, "
          f"{meter.count['evaluations']:,} evaluations) | {seconds:.2f} |")
    print(f"| of which {meter.count['hessians']} Hessians formed "
          f"({each['hessians']:.1f} ms each) and "
          f"{meter.count['factorizations']} factored "
          f"({each['factorizations']:.1f} ms each) | {formed:.2f} |")
    print(f"| of which evaluations | {meter.seconds['evaluations']:.2f} |")
    print(f"| LogisticRegressionCV | {t_lrcv:.2f} |")
    print(f"\nours / LogisticRegressionCV: {seconds / t_lrcv:.2f}; the Hessians "
          f"alone: {formed / t_lrcv:.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path", choices=["l1", "l2"])
    parser.add_argument("--glmnet-seconds", type=float, default=None)
    args = parser.parse_args()
    X, y = digits()
    X = StandardScaler().fit_transform(X)
    if args.path == "l1":
        study_l1(X, y, args.glmnet_seconds)
    else:
        study_l2(X, y)


if __name__ == "__main__":
    main()
