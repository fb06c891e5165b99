"""SoftmaxClassifier on Dask arrays: scaling, workers, out-of-core.

Three measurements, each on a ``distributed.LocalCluster`` of worker processes
with one thread each (data generated, nothing downloaded):

``scaling``
    Time per L-BFGS evaluation (one map-reduce of the block kernel over the
    chunks, parameters out, sums back) as the number of rows grows with a
    fixed chunk size; it should grow linearly. The in-memory NumPy objective on
    the same data is timed alongside, in this process, on one BLAS thread.
``workers``
    The same per-evaluation time and a whole fit with 1 and with 2 workers,
    with the CPU time each worker process spent per evaluation (which shows
    the split of the work even when other jobs share the cores).
``ooc``
    A fit on a zarr array on disk (under ``--tmpdir``, never in the
    repository) several times larger than the workers' memory limit: the data
    cannot be persisted and is streamed from disk on every pass. Records the
    data size, the limit, the peak resident memory of each worker (sampled
    every 0.2 s with psutil) and the time.

Run from the repository root::

    python benchmarks/bench_dask.py --quick              # smoke run, ~1 min
    python benchmarks/bench_dask.py scaling workers      # a few minutes
    python benchmarks/bench_dask.py ooc --ooc-gb 4 --memory-limit 500MB

The machine's load affects every number: report it with them.
"""

import argparse
import os
import shutil
import statistics
import threading
import time
import warnings

import dask
import dask.array as da
import distributed
import numpy as np
from dask.utils import format_bytes, parse_bytes
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from sksoftmax import SoftmaxClassifier
from sksoftmax import _dask as dask_backend
from sksoftmax._objective import SoftmaxObjective, column_scaling

N_FEATURES = 50
N_CLASSES = 5


def make_data(n_samples, chunk_rows, seed=0, n_features=N_FEATURES):
    """Lazy, generated on the workers: X (float64) and integer labels."""
    rng = da.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features), chunks=(chunk_rows, -1))
    W = np.random.default_rng(seed).normal(size=(n_features, N_CLASSES)) / 4
    noise = rng.gumbel(size=(n_samples, N_CLASSES), chunks=(chunk_rows, -1))
    y = da.argmax(X @ W + noise, axis=1)
    return X, y


class EvaluationTimer:
    """Times every ``DaskRowSums`` call (one evaluation's map-reduce) while active."""

    def __init__(self):
        self.times = []
        self._original = dask_backend.DaskRowSums.__call__

    def __enter__(self):
        original, times = self._original, self.times

        def timed(row_sums, coef, intercept):
            start = time.perf_counter()
            result = original(row_sums, coef, intercept)
            times.append(time.perf_counter() - start)
            return result

        dask_backend.DaskRowSums.__call__ = timed
        return self

    def __exit__(self, *exc):
        dask_backend.DaskRowSums.__call__ = self._original

    @property
    def median(self):
        # The first evaluation also warms up the workers: leave it out.
        return statistics.median(self.times[1:] or self.times)


def fit_timed(X, y, max_iter, tol=0.0):
    clf = SoftmaxClassifier(max_iter=max_iter, tol=tol)
    with EvaluationTimer() as timer, warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        clf.fit(X, y)
        elapsed = time.perf_counter() - start
    return clf, timer, elapsed


def numpy_eval_time(X, y, repeat=5):
    """Median time of one in-memory loss + gradient evaluation, one thread."""
    weights = np.ones(len(y))
    mu, sigma = column_scaling(X, weights, True)
    objective = SoftmaxObjective(X, y, weights, N_CLASSES, 1.0, True,
                                 mu=mu, sigma=sigma)
    theta = np.random.default_rng(0).normal(size=objective.n_params) * 0.01
    times = []
    # One BLAS thread: the same resources as one single-threaded worker.
    with threadpool_limits(1):
        for _ in range(repeat):
            start = time.perf_counter()
            objective.loss_grad(theta)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def cluster(n_workers, memory_limit="auto"):
    return distributed.LocalCluster(
        n_workers=n_workers, threads_per_worker=1, processes=True,
        memory_limit=memory_limit, dashboard_address=None,
    )


def bench_scaling(sizes, chunk_rows, max_iter):
    print(f"\n== scaling: time per L-BFGS evaluation, 2 workers x 1 thread, "
          f"{N_FEATURES} features, {N_CLASSES} classes, float64, chunks of "
          f"{chunk_rows} rows")
    print(f"{'rows':>10} {'chunks':>7} {'MB':>7} {'dask s/eval':>12} "
          f"{'us/row':>8} {'numpy 1-thread s/eval':>22} {'fit s':>7} {'evals':>6}")
    with cluster(2) as c, distributed.Client(c) as client:
        for n in sizes:
            X, y = make_data(n, chunk_rows)
            X, y = client.persist([X, y])
            distributed.wait([X, y])
            _, timer, elapsed = fit_timed(X, y, max_iter)
            X_np, y_np = client.compute([X, y], sync=True)
            t_np = numpy_eval_time(X_np, y_np)
            del X_np, y_np
            print(f"{n:>10} {len(X.chunks[0]):>7} {X.nbytes / 1e6:>7.0f} "
                  f"{timer.median:>12.4f} {1e6 * timer.median / n:>8.3f} "
                  f"{t_np:>22.4f} {elapsed:>7.2f} {len(timer.times):>6}",
                  flush=True)


def bench_workers(n, chunk_rows, max_iter):
    print(f"\n== workers: {n} rows x {N_FEATURES} features, chunks of "
          f"{chunk_rows} rows, {max_iter} L-BFGS iterations")
    print("(worker CPU: CPU seconds per evaluation of the busiest worker and of "
          "all workers; on a busy machine wall times mix in other jobs' load)")
    print(f"{'workers':>8} {'s/eval':>8} {'min s/eval':>11} {'fit s':>7} "
          f"{'evals':>6} {'busiest worker CPU s/eval':>26} {'all workers':>12}")
    for n_workers in (1, 2):
        with cluster(n_workers) as c, distributed.Client(c) as client:
            X, y = make_data(n, chunk_rows)
            X, y = client.persist([X, y])
            distributed.wait([X, y])
            fit_timed(X[:chunk_rows], y[:chunk_rows], 2)  # warm the workers up
            cpu_before = client.run(time.process_time)
            _, timer, elapsed = fit_timed(X, y, max_iter)
            cpu_after = client.run(time.process_time)
            cpu = [(cpu_after[w] - cpu_before[w]) / len(timer.times)
                   for w in cpu_before]
            print(f"{n_workers:>8} {timer.median:>8.4f} {min(timer.times):>11.4f} "
                  f"{elapsed:>7.2f} {len(timer.times):>6} {max(cpu):>26.4f} "
                  f"{sum(cpu):>12.4f}", flush=True)


def write_zarr(path, n, chunk_rows, seed=0):
    """Write the generated problem to ``path`` chunk by chunk (bounded memory)."""
    import zarr

    shutil.rmtree(path, ignore_errors=True)
    Xz = zarr.create_array(
        f"{path}/X", shape=(n, N_FEATURES), chunks=(chunk_rows, N_FEATURES),
        dtype="float64", compressors=None,
    )
    yz = zarr.create_array(f"{path}/y", shape=(n,), chunks=(chunk_rows,),
                           dtype="int64", compressors=None)
    W = np.random.default_rng(seed).normal(size=(N_FEATURES, N_CLASSES)) / 4
    for i, start in enumerate(range(0, n, chunk_rows)):
        rng = np.random.default_rng([seed, i])
        m = min(chunk_rows, n - start)
        X = rng.standard_normal((m, N_FEATURES))
        X[:, :5] *= [1e-2, 1e-1, 1e1, 1e2, 1e3]  # badly scaled columns
        y = np.argmax(X @ W + rng.gumbel(size=(m, N_CLASSES)), axis=1)
        Xz[start:start + m] = X
        yz[start:start + m] = y


def _rss():
    import psutil

    return psutil.Process().memory_info().rss


class PeakMemory:
    """Samples every worker's resident memory in a background thread."""

    def __init__(self, client, interval=0.2):
        self.client, self.interval = client, interval
        self.peak = {}
        self._stop = threading.Event()

    def _run(self):
        while not self._stop.is_set():
            try:
                for worker, rss in self.client.run(_rss).items():
                    self.peak[worker] = max(self.peak.get(worker, 0), rss)
            except Exception:  # a restarting worker: keep sampling
                pass
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def bench_ooc(gigabytes, memory_limit, chunk_rows, tmpdir, max_iter, keep):
    n = int(gigabytes * 1e9 / (8 * N_FEATURES))
    path = os.path.join(tmpdir, "sksoftmax_bench_ooc.zarr")
    print(f"\n== out-of-core: {n} rows x {N_FEATURES} features float64 in {path}")
    start = time.perf_counter()
    if not (keep and os.path.exists(f"{path}/X")):
        write_zarr(path, n, chunk_rows)
    print(f"written in {time.perf_counter() - start:.1f} s")
    X, y = da.from_zarr(f"{path}/X"), da.from_zarr(f"{path}/y")
    n_workers = 2
    with cluster(n_workers, memory_limit) as c, distributed.Client(c) as client:
        limit = parse_bytes(memory_limit)
        baseline = client.run(_rss)
        with PeakMemory(client) as peak:
            clf, timer, elapsed = fit_timed(X, y, max_iter, tol=1e-4)
        # A worker killed for memory comes back under a new address.
        restarted = sorted(set(client.run(_rss)) ^ set(baseline))
        print(f"data on disk            {format_bytes(X.nbytes + y.nbytes)} "
              f"({X.nbytes / limit:.1f}x one worker's limit, "
              f"{X.nbytes / (n_workers * limit):.1f}x all workers' memory)")
        print(f"workers                 {n_workers} x 1 thread, memory_limit="
              f"{memory_limit} each")
        print("worker RSS before fit   " + ", ".join(
            format_bytes(v) for v in baseline.values()))
        print("peak worker RSS         " + ", ".join(
            format_bytes(v) for v in peak.peak.values()))
        print(f"fit time                {elapsed:.1f} s, {clf.n_iter_} iterations, "
              f"{len(timer.times)} evaluations, {timer.median:.2f} s/evaluation "
              f"(median)")
        print(f"final loss              {clf.loss_:.6f}; restarted workers: "
              f"{restarted or 'none'}")
        accuracy = (clf.predict(X) == y).mean().compute()
        print(f"training accuracy       {accuracy:.4f} (lazy predict, computed)")
    if not keep:
        shutil.rmtree(path, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="*", metavar="PART",
                        help="scaling, workers and/or ooc (default: all three)")
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    parser.add_argument("--max-iter", type=int, default=10,
                        help="L-BFGS iterations in the timing runs")
    parser.add_argument("--ooc-gb", type=float, default=4.0,
                        help="size of X on disk, in GB")
    parser.add_argument("--memory-limit", default="500MB",
                        help="memory limit of each worker in the ooc run")
    parser.add_argument("--ooc-chunk-rows", type=int, default=50_000)
    parser.add_argument("--ooc-max-iter", type=int, default=100)
    parser.add_argument("--tmpdir", default="/tmp")
    parser.add_argument("--keep", action="store_true",
                        help="keep (and reuse) the on-disk array")
    args = parser.parse_args()
    args.parts = args.parts or ["scaling", "workers", "ooc"]
    unknown = set(args.parts) - {"scaling", "workers", "ooc"}
    if unknown:
        parser.error(f"unknown parts {sorted(unknown)}")
    dask.config.set({"distributed.logging.distributed": "error"})
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"dask {dask.__version__}, distributed {distributed.__version__}, "
          f"{os.cpu_count()} CPUs, load average {load:.1f}")
    if args.quick:
        sizes, chunk, n_workers_rows = [20_000, 40_000, 80_000], 10_000, 80_000
        args.ooc_gb, args.memory_limit, args.ooc_chunk_rows = 0.2, "300MB", 20_000
    else:
        sizes = [125_000, 250_000, 500_000, 1_000_000, 2_000_000]
        chunk, n_workers_rows = args.chunk_rows, 1_000_000
    if "scaling" in args.parts:
        bench_scaling(sizes, chunk, args.max_iter)
    if "workers" in args.parts:
        bench_workers(n_workers_rows, chunk, args.max_iter)
    if "ooc" in args.parts:
        bench_ooc(args.ooc_gb, args.memory_limit, args.ooc_chunk_rows, args.tmpdir,
                  args.ooc_max_iter, args.keep)


if __name__ == "__main__":
    main()
