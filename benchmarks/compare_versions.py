"""Two checkouts of sksoftmax side by side: same bits, same speed?

For a change that must keep results and speed (a refactor), this loads the
``sksoftmax`` package of two checkouts into one process, each under its own
module tree (swapped into ``sys.modules`` while that version runs, so that
imports inside functions find their own version), then:

``bits``
    fits the same cases with both versions and compares every fitted array
    attribute (``coef_``, ``intercept_``, ``n_iter_``, and for
    ``SoftmaxClassifierCV`` the paths, scores and chosen ``C_``) bit for
    bit. The cases: the six problems of ``bench_lbfgs.py`` at defaults, and
    fixtures on iris, wine, breast cancer and digits crossed with the
    options (weights, soft targets, smoothing, ignore label, class weights,
    float32, sparse, L1, elastic net, penalty factors, bounds, the CV path).
``time``
    alternates old and new in each round on the six problems: a default
    fit, and one loss and gradient evaluation inside the fit's executor;
    prints the medians and the ratio new / old. ``--backends`` adds a Dask
    fit (threaded scheduler) and a PyTorch CPU fit (array-API dispatch),
    ``--cv`` ``SoftmaxClassifierCV`` on digits (``bench_cv.py``'s setup).

Run from the repository root (the new version defaults to it)::

    git worktree add /tmp/old <commit>
    python benchmarks/compare_versions.py --old /tmp/old bits
    python benchmarks/compare_versions.py --old /tmp/old time --rounds 5
    python benchmarks/compare_versions.py --old /tmp/old time --backends
"""

import argparse
import importlib
import os
import pkgutil
import statistics
import sys
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

# Before SciPy is imported: the PyTorch fit needs SciPy's array-API mode.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np
import scipy.sparse as sp
from _problems import dense, problems
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_iris,
    load_wine,
)
from sklearn.exceptions import ConvergenceWarning


def _is_ours(name):
    return name == "sksoftmax" or name.startswith("sksoftmax.")


class Version:
    """One checkout's ``sksoftmax``, loaded under its own module tree."""

    def __init__(self, root):
        self.root = str(Path(root).resolve())
        outside = self._take_modules()
        sys.path.insert(0, self.root)
        try:
            package = importlib.import_module("sksoftmax")
            for info in pkgutil.iter_modules(package.__path__):
                if info.name == "__main__":
                    continue
                try:
                    importlib.import_module(f"sksoftmax.{info.name}")
                except ImportError:  # an optional extra that is missing
                    pass
        finally:
            sys.path.remove(self.root)
            self.modules = self._take_modules()
            sys.modules.update(outside)
        if not package.__file__.startswith(self.root):
            raise RuntimeError(f"{root}: imported {package.__file__}")

    @staticmethod
    def _take_modules():
        return {k: sys.modules.pop(k) for k in list(sys.modules) if _is_ours(k)}

    @contextmanager
    def active(self):
        """This version as ``sksoftmax`` while the block runs."""
        outside = self._take_modules()
        sys.modules.update(self.modules)
        try:
            yield sys.modules["sksoftmax"]
        finally:
            self.modules.update(self._take_modules())
            sys.modules.update(outside)


# ---------------------------------------------------------------------------
# bits


def _soft_targets(y, n_classes, seed=0):
    """Rows of class probabilities, peaked on ``y``."""
    rng = np.random.default_rng(seed)
    T = rng.dirichlet(np.ones(n_classes), size=len(y)) * 0.3
    T[np.arange(len(y)), y] += 0.7
    return T


def fixture_cases():
    """Name -> (estimator name, params, X, y, fit kwargs)."""
    data = {
        "iris": load_iris(return_X_y=True),
        "wine": load_wine(return_X_y=True),
        "cancer": load_breast_cancer(return_X_y=True),
        "digits": load_digits(return_X_y=True),
    }
    cases = {}
    for name, (X, y) in data.items():
        w = np.random.default_rng(1).integers(1, 4, len(y)).astype(float)
        k, d = len(np.unique(y)), X.shape[1]
        pf = np.linspace(0.0, 2.0, d)
        options = {
            "default": ({}, X, y, {}),
            "weights": ({}, X, y, {"sample_weight": w}),
            "soft": ({}, X, _soft_targets(y, k), {}),
            "smooth": ({"label_smoothing": 0.1}, X, y, {}),
            "ignore": ({"ignore_label": -1}, X,
                       np.where(np.arange(len(y)) % 7 == 0, -1, y), {}),
            "balanced": ({"class_weight": "balanced"}, X, y, {}),
            "f32": ({}, X.astype(np.float32), y, {}),
            "sparse": ({}, sp.csr_matrix(X), y, {}),
            "nointercept": ({"fit_intercept": False}, X, y, {}),
            "l1": ({"l1_ratio": 1.0, "C": 0.1}, X, y, {}),
            "enet": ({"l1_ratio": 0.5}, X, y, {"sample_weight": w}),
            "pf": ({"l1_ratio": 0.5, "penalty_factor": pf}, X, y, {}),
            "bounds": ({"coef_bounds": (-0.5, 0.5)}, X, y, {}),
            "positive": ({"positive": True, "l1_ratio": 0.5}, X, y, {}),
        }
        for option, (params, Xo, yo, kw) in options.items():
            cases[f"{name}_{option}"] = ("SoftmaxClassifier", params, Xo, yo, kw)
        cv = {"Cs": 5, "cv": 3}
        cases[f"{name}_cv"] = ("SoftmaxClassifierCV", cv, X, y, {})
        cases[f"{name}_cv_l1"] = ("SoftmaxClassifierCV",
                                  {**cv, "l1_ratios": [0.0, 0.5, 1.0]}, X, y, {})
        cases[f"{name}_cv_pf"] = ("SoftmaxClassifierCV",
                                  {**cv, "l1_ratios": [0.5], "penalty_factor": pf},
                                  X, y, {})
    return cases


def benchmark_cases():
    return {f"bench_{name}": ("SoftmaxClassifier", {}, *build(), {})
            for name, (_, build) in problems(quick=False).items()}


def fitted_arrays(model):
    """Every fitted attribute that holds numbers, as name -> ndarray."""
    out = {}
    for key, value in vars(model).items():
        if not key.endswith("_") or key.startswith("_"):
            continue
        if isinstance(value, dict):
            for sub, v in value.items():
                if isinstance(v, (np.ndarray, float, int, np.number)):
                    out[f"{key}[{sub}]"] = np.asarray(v)
        elif isinstance(value, (np.ndarray, float, int, np.number)):
            out[key] = np.asarray(value)
    return out


def fit_with(version, estimator, params, X, y, kwargs):
    with version.active() as package, warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = getattr(package, estimator)(**params)
        return fitted_arrays(model.fit(X, y, **kwargs))


def compare_bits(old, new, cases):
    n_same = n_arrays = 0
    for name, (estimator, params, X, y, kwargs) in cases.items():
        a = fit_with(old, estimator, params, X, y, kwargs)
        b = fit_with(new, estimator, params, X, y, kwargs)
        if a.keys() != b.keys():
            print(f"{name}: attributes differ: {sorted(a.keys() ^ b.keys())}")
        for key in sorted(a.keys() & b.keys()):
            n_arrays += 1
            x, z = a[key], b[key]
            if x.shape == z.shape and np.array_equal(x, z, equal_nan=True):
                n_same += 1
                continue
            diff = (np.max(np.abs(x.astype(float) - z.astype(float)))
                    if x.shape == z.shape else "shape")
            signed = (f" (new - old = {float(z) - float(x):+.3e})"
                      if key == "loss_" else "")  # which version got lower
            print(f"{name}.{key}: differs, max |old - new| = {diff}{signed}")
    print(f"{n_same} of {n_arrays} arrays bit-identical in {len(cases)} fits")


# ---------------------------------------------------------------------------
# time


def _seconds(fun):
    start = time.perf_counter()
    fun()
    return time.perf_counter() - start


def _fit_timer(version, X, y, estimator_params=None, config=None):
    """Seconds of one default fit."""
    def fit():
        with version.active() as package, warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = package.SoftmaxClassifier(**(estimator_params or {}))
            if config is None:
                model.fit(X, y)
            else:
                import sklearn
                with sklearn.config_context(**config):
                    model.fit(X, y)
    return lambda: _seconds(fit)


def _evaluation_timer(version, X, y, repeat=5):
    """Median seconds of one loss_grad inside the fit's executor."""
    with version.active():
        from sksoftmax._executor import fit_executor
        from sksoftmax._objective import SoftmaxObjective, column_scaling
        classes, codes = np.unique(y, return_inverse=True)
        w = np.ones(len(codes))
        mu, sigma = column_scaling(X, w, True)
        obj = SoftmaxObjective(X, codes, w, len(classes), 1.0, True,
                               mu=mu, sigma=sigma)
    theta = np.random.default_rng(0).standard_normal(obj.n_params) * 0.1

    def run():
        with version.active(), fit_executor():
            obj.loss_grad(theta)
            return statistics.median(
                _seconds(lambda: obj.loss_grad(theta)) for _ in range(repeat))
    return run


def _backend_timers(versions):
    """Dask (threads) and PyTorch CPU fits of 400,000 x 50, 10 classes."""
    X, y = dense(400_000, 50, 10, seed=4)
    timers = {}
    try:
        import dask
        import dask.array as da
        Xd = da.from_array(X, chunks=(50_000, 50))
        yd = da.from_array(y, chunks=50_000)

        def dask_fit(v):
            run = _fit_timer(v, Xd, yd)

            def threaded():
                with dask.config.set(scheduler="threads"):
                    return run()
            return threaded
        timers["dask fit"] = {v: dask_fit(v) for v in versions}
    except ImportError:
        print("dask not installed: no Dask row")
    try:
        import torch
        Xt, yt = torch.asarray(X, dtype=torch.float32), torch.asarray(y)
        timers["torch fit"] = {
            v: _fit_timer(v, Xt, yt, config={"array_api_dispatch": True})
            for v in versions}
    except ImportError:
        print("torch not installed: no PyTorch row")
    return timers


def _cv_timers(versions):
    """SoftmaxClassifierCV on digits, raw and standardized (bench_cv.py's
    Cs, folds and scoring)."""
    from sklearn.model_selection import StratifiedKFold
    from sklearn.preprocessing import StandardScaler
    X, y = load_digits(return_X_y=True)
    folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y))
    params = {"Cs": np.logspace(-4, 4, 10), "cv": folds,
              "scoring": "neg_log_loss"}

    def timer(v, X):
        def fit():
            with v.active() as package, warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                package.SoftmaxClassifierCV(**params).fit(X, y)
        return lambda: _seconds(fit)
    X_std = StandardScaler().fit_transform(X)
    return {"digits CV": {v: timer(v, X) for v in versions},
            "digits std CV": {v: timer(v, X_std) for v in versions}}


def compare_time(old, new, rounds, names, backends, cv=False):
    timers = {}
    for name in names:
        X, y = problems(quick=False)[name][1]()
        timers[f"{name} fit"] = {v: _fit_timer(v, X, y) for v in (old, new)}
        timers[f"{name} eval"] = {v: _evaluation_timer(v, X, y) for v in (old, new)}
    if backends:
        timers.update(_backend_timers((old, new)))
    if cv:
        timers.update(_cv_timers((old, new)))
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    print("| case | old [s] | new [s] | new / old |")
    print("|---|---|---|---|")
    for case, by_version in timers.items():
        times = {old: [], new: []}
        for r in range(rounds):
            for v in ((old, new) if r % 2 == 0 else (new, old)):
                times[v].append(by_version[v]())
        t_old, t_new = (statistics.median(times[v]) for v in (old, new))
        print(f"| {case} | {t_old:.4f} | {t_new:.4f} | {t_new / t_old:.3f} |",
              flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", required=True, help="the old checkout's root")
    parser.add_argument("--new", default=".", help="the new checkout's root")
    parser.add_argument("mode", choices=("bits", "time"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--problems", nargs="*",
                        default=list(problems(quick=False)))
    parser.add_argument("--backends", action="store_true",
                        help="time also a Dask and a PyTorch CPU fit")
    parser.add_argument("--cv", action="store_true",
                        help="time also SoftmaxClassifierCV on digits")
    args = parser.parse_args(argv)
    # _problems imported the repository's package; each version loads its own.
    Version._take_modules()
    old, new = Version(args.old), Version(args.new)
    if args.mode == "bits":
        compare_bits(old, new, {**benchmark_cases(), **fixture_cases()})
    else:
        compare_time(old, new, args.rounds, args.problems, args.backends,
                     args.cv)


if __name__ == "__main__":
    main()
