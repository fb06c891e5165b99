"""Fit time of SoftmaxClassifier against LogisticRegression, NumPy / PyTorch / CUDA.

Cases, all with scikit-learn's ``array_api_dispatch`` on for the PyTorch ones:

- ``numpy``: NumPy float arrays on the CPU (the reference);
- ``torch-cpu``: PyTorch CPU tensors;
- ``torch-cuda``: PyTorch CUDA tensors (only where ``torch.cuda.is_available()``;
  otherwise the script says "no GPU" and times the CPU cases only).

Each case fits ``SoftmaxClassifier`` and ``LogisticRegression(solver="lbfgs")``
with the same ``C``, ``tol`` and ``max_iter`` on the same data: for three or
more classes both minimize the same objective (keep ``--n-classes`` >= 3; the
objective column assumes the multinomial parametrization). Reported per fit:
the best wall time over ``--repeat`` runs (after one warm-up fit), L-BFGS
iterations, the objective reached (evaluated afterwards in float64 NumPy for
every fit, so the rows are comparable) and test accuracy.

Usage::

    python benchmarks/bench_gpu.py                      # defaults below
    python benchmarks/bench_gpu.py --n-samples 1000000 --n-features 200 \\
        --n-classes 20 --dtype float32 --repeat 3
    python benchmarks/bench_gpu.py --threads 1    # a busy shared CPU machine

SciPy's array-API mode must be on before SciPy is imported (scikit-learn
refuses to dispatch otherwise); the script sets ``SCIPY_ARRAY_API=1`` itself.
"""

import os

os.environ.setdefault("SCIPY_ARRAY_API", "1")

import argparse
import time
import warnings

import numpy as np
import sklearn
from _problems import objective, two_decades
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.utils._array_api import move_to
from threadpoolctl import threadpool_limits

from sksoftmax import SoftmaxClassifier


def _numpy(a):
    with sklearn.config_context(array_api_dispatch=True):
        return np.asarray(move_to(a, xp=np, device="cpu"), dtype=np.float64)


def time_fit(make_estimator, X, y, repeat, sync):
    """Best wall time of ``repeat`` fits after one warm-up; the last estimator."""
    times = []
    est = None
    for i in range(repeat + 1):
        est = make_estimator()
        sync()
        start = time.perf_counter()
        with sklearn.config_context(array_api_dispatch=True), \
                warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, y)
        sync()
        if i:  # the first fit warms up (CUDA context, kernels, caches)
            times.append(time.perf_counter() - start)
    return min(times), est


def cases(torch):
    """``(name, to_array, sync)`` for every case available here."""
    yield "numpy", (lambda a: a), (lambda: None)
    if torch is None:
        return
    yield "torch-cpu", (lambda a: torch.asarray(a, device="cpu")), (lambda: None)
    if torch.cuda.is_available():
        yield ("torch-cuda", (lambda a: torch.asarray(a, device="cuda")),
               torch.cuda.synchronize)


def main(argv=None):
    """Run the benchmark and print one row per (case, estimator)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=100_000)
    parser.add_argument("--n-features", type=int, default=100)
    parser.add_argument("--n-classes", type=int, default=10)
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--C", type=float, default=1.0)
    parser.add_argument("--tol", type=float, default=1e-4)
    parser.add_argument("--max-iter", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None,
                        help="limit BLAS/OpenMP pools (threadpoolctl) and "
                        "torch.set_num_threads to this many threads; use 1 on a "
                        "busy shared machine, where idle pools spin")
    args = parser.parse_args(argv)

    try:
        import torch
    except ImportError:
        torch = None
    if args.threads:
        threadpool_limits(limits=args.threads)
        if torch is not None:
            torch.set_num_threads(args.threads)

    X, y, X_test, y_test = two_decades(args.n_samples, args.n_features,
                                       args.n_classes)
    X, X_test = X.astype(args.dtype), X_test.astype(args.dtype)
    yardstick = objective(X, y, args.C)  # evaluated in float64
    print(f"n_samples={args.n_samples} n_features={args.n_features} "
          f"n_classes={args.n_classes} dtype={args.dtype} C={args.C} "
          f"tol={args.tol} max_iter={args.max_iter} repeat={args.repeat}")
    print(f"numpy {np.__version__}, scikit-learn {sklearn.__version__}, torch "
          f"{'not installed' if torch is None else torch.__version__}"
          + ("" if torch is None else f" ({torch.get_num_threads()} CPU threads)"))
    if torch is None or not torch.cuda.is_available():
        print("no GPU: timing the CPU cases only")
    else:
        print(f"GPU: {torch.cuda.get_device_name()}")

    estimators = {
        "SoftmaxClassifier": lambda: SoftmaxClassifier(
            C=args.C, tol=args.tol, max_iter=args.max_iter),
        "LogisticRegression": lambda: LogisticRegression(
            C=args.C, tol=args.tol, max_iter=args.max_iter),
    }
    header = (f"{'case':<11} {'estimator':<19} {'fit s':>8} {'n_iter':>6} "
              f"{'objective':>12} {'test acc':>8}")
    print(header)
    print("-" * len(header))
    for case, to_array, sync in cases(torch):
        Xc, yc, X_test_c = to_array(X), to_array(y), to_array(X_test)
        for name, make in estimators.items():
            seconds, est = time_fit(make, Xc, yc, args.repeat, sync)
            with sklearn.config_context(array_api_dispatch=True):
                pred = _numpy(est.predict(X_test_c))
            coef, intercept = _numpy(est.coef_), _numpy(est.intercept_)
            n_iter = est.n_iter_  # an int, or LogisticRegression's array
            n_iter = n_iter if isinstance(n_iter, int) else int(_numpy(n_iter).max())
            print(f"{case:<11} {name:<19} {seconds:8.3f} {n_iter:6d} "
                  f"{yardstick(coef, intercept):12.8f} "
                  f"{np.mean(pred == y_test):8.4f}", flush=True)


if __name__ == "__main__":
    main()
