"""Cost of ``sksoftmax.inference`` relative to one default fit.

Data: ``n_samples x 50`` standard normal features, 5 classes drawn from a
softmax model (generated, nothing downloaded). In one process, alternating
runs: a default ``SoftmaxClassifier().fit(X, y)``, ``inference(clf, X, y)``
(``cov_type="nonrobust"``) and ``inference(..., cov_type="HC0")``; reports
the median of each and the ratios to the fit. The issue's target: inference
at most 3x one default fit for 100,000 x 50 with 5 classes.

Run from the repository root::

    python benchmarks/bench_inference.py                 # 100,000 x 50, 5 repeats
    python benchmarks/bench_inference.py --n-samples 20000 --repeats 3

The machine's load affects every number: it is printed with them.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sksoftmax import SoftmaxClassifier, inference

N_FEATURES = 50
N_CLASSES = 5


def make_data(n_samples, seed=0):
    """Features and labels drawn from a softmax model with moderate signal."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, N_FEATURES))
    coef = rng.normal(size=(N_CLASSES, N_FEATURES)) / 4
    Z = X @ coef.T + rng.gumbel(size=(n_samples, N_CLASSES))
    return X, Z.argmax(axis=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-samples", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--blas-threads", type=int, default=None,
                        help="limit the BLAS pools (threadpoolctl) for both")
    args = parser.parse_args()
    if args.blas_threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=args.blas_threads)
    X, y = make_data(args.n_samples)
    times = {"fit": [], "nonrobust": [], "HC0": []}
    for _ in range(args.repeats):
        start = time.perf_counter()
        clf = SoftmaxClassifier().fit(X, y)
        times["fit"].append(time.perf_counter() - start)
        for cov_type in ("nonrobust", "HC0"):
            start = time.perf_counter()
            inference(clf, X, y, cov_type=cov_type)
            times[cov_type].append(time.perf_counter() - start)
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"{args.n_samples} x {N_FEATURES}, {N_CLASSES} classes, "
          f"{args.repeats} alternating repeats; fit: {clf.n_iter_} iterations")
    print(f"BLAS threads: {args.blas_threads or 'default'}")
    print(f"load average (1, 5, 15 min): {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    for name, median in medians.items():
        runs = ", ".join(f"{t:.3f}" for t in times[name])
        ratio = median / medians["fit"]
        print(f"{name:>10}: median {median:.3f} s  ({ratio:.2f}x fit)  [{runs}]")


if __name__ == "__main__":
    main()
