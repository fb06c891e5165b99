"""Time to the optimum: SoftmaxClassifier against LogisticRegression (lbfgs).

Builds the problems of issue 4 (generated, nothing is downloaded), computes a
tightly converged reference optimum for each (cached under
``benchmarks/.cache``), then fits, with default settings and in alternating
runs inside this one process:

- ``SoftmaxClassifier()``;
- scikit-learn's ``LogisticRegression()`` (lbfgs), as installed;
- the same with SciPy's private OpenBLAS pool limited to one thread
  (threadpoolctl, selecting the library by its file path): the algorithmic
  comparison, without the thread-pool fight;
- scikit-learn-intelex's ``LogisticRegression()`` when it is installed.

It prints, per problem and solver, the median time, its ratio to the default
LogisticRegression, the iterations, the relative objective gap
``(f - f*) / f*`` (every model's ``coef_`` / ``intercept_`` evaluated by the
same objective function) and the peak memory of a separate traced fit
(tracemalloc: Python and NumPy allocations, not oneDAL's own). A second table
times one loss + gradient evaluation against the two matrix products alone,
with one thread and with all of them.

``--compete 1 4`` runs the same fits again while 1, then 4, CPU-bound
competitor processes run (the benchmark starts them before each round and
stops them after it; each also ends by itself after ``--compete-seconds``),
alternating the rounds with idle ones, and prints every solver's median time
under each load, over our idle time. ``os.getloadavg()`` is printed beside
the tables: on a shared machine "idle" means "without our competitors".

Run from the repository root::

    python benchmarks/bench_lbfgs.py            # the issue's sizes, a few minutes
    python benchmarks/bench_lbfgs.py --quick    # small smoke run, seconds
    python benchmarks/bench_lbfgs.py --problems digits unscaled --repeat 5
    python benchmarks/bench_lbfgs.py --compete 1 4 --no-memory
"""

import argparse
import hashlib
import os
import signal
import statistics
import subprocess
import sys
import time
import tracemalloc
import warnings
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import scipy.optimize
import scipy.sparse as sp
from _problems import objective, problems
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from threadpoolctl import ThreadpoolController

from sksoftmax import SoftmaxClassifier
from sksoftmax._executor import available_threads, fit_executor
from sksoftmax._objective import SoftmaxObjective, column_scaling
from sksoftmax._threads import limit_blas

CACHE = Path(__file__).resolve().parent / ".cache"

# ---------------------------------------------------------------------------
# Problems and the common yardstick (one objective function for every model):
# benchmarks/_problems.py


def reference_optimum(name, X, y, quick):
    """Objective value at a tightly converged optimum (cached on disk)."""
    digest = hashlib.sha1()
    if sp.issparse(X):
        for a in (X.data, X.indices, X.indptr):
            digest.update(np.ascontiguousarray(a).tobytes())
    else:
        digest.update(np.ascontiguousarray(X).tobytes())
    digest.update(np.asarray(y).tobytes())
    path = CACHE / f"{name}{'-quick' if quick else ''}-{digest.hexdigest()[:12]}.npz"
    if path.exists():
        return float(np.load(path)["fun"])
    t0 = time.perf_counter()
    X64 = X.astype(np.float64)
    classes, codes = np.unique(y, return_inverse=True)
    w = np.ones(len(codes))
    mu, sigma = column_scaling(X64, w, True)
    obj = SoftmaxObjective(X64, codes, w, len(classes), 1.0, True, mu=mu,
                           sigma=sigma)
    theta = obj.from_original(np.zeros((len(classes), X.shape[1])),
                              np.zeros(len(classes)))
    # A gradient of 1e-9 in conditioned coordinates: gaps far below 1e-8
    # (the sparse problem needs about 2,000 iterations, minutes).
    for _ in range(2):  # restart once: a fresh history after L-BFGS-B stalls
        with fit_executor():
            res = scipy.optimize.minimize(
                obj.loss_grad, theta, method="L-BFGS-B", jac=True,
                options={"maxiter": 5_000, "maxfun": 10_000, "maxcor": 30,
                         "gtol": 1e-9, "ftol": 0.0, "maxls": 50},
            )
        theta = res.x
    fun = float(res.fun)
    CACHE.mkdir(exist_ok=True)
    (CACHE / ".gitignore").write_text("*\n")
    np.savez(path, fun=fun, theta=theta)
    print(f"  reference optimum for {name}: {fun:.12g} "
          f"({res.nit} it, max|g| {np.max(np.abs(res.jac)):.1e}, "
          f"{time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    return fun


# ---------------------------------------------------------------------------
# Solvers


def scipy_blas_limited():
    """threadpoolctl context: SciPy's own OpenBLAS (selected by path) at 1."""
    ctl = ThreadpoolController()
    paths = [lib.filepath for lib in ctl.lib_controllers
             if lib.user_api == "blas"
             and {"scipy", "scipy.libs"} & set(Path(lib.filepath).parts)
             and not {"numpy", "numpy.libs"} & set(Path(lib.filepath).parts)]
    return ctl.select(filepath=paths).limit(limits=1) if paths else nullcontext()


def solvers(with_intelex=True):
    """Name -> (make estimator, context manager factory)."""
    out = {
        "SoftmaxClassifier": (SoftmaxClassifier, nullcontext),
        "LR": (LogisticRegression, nullcontext),
        "LR, SciPy BLAS 1 thread": (LogisticRegression, scipy_blas_limited),
    }
    if with_intelex:
        try:
            from sklearnex.linear_model import LogisticRegression as IntelLR
        except ImportError:
            pass
        else:
            out["intelex"] = (IntelLR, nullcontext)
    return out


SHORT_NAMES = {"ours": "SoftmaxClassifier", "LR": "LR",
               "LR-1": "LR, SciPy BLAS 1 thread", "intelex": "intelex"}


def fit_once(make, context, X, y, trace=False):
    """Fit one default estimator; returns (seconds, model, peak bytes or None)."""
    model = make()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with context():
            if trace:
                tracemalloc.start()
            t0 = time.perf_counter()
            model.fit(X, y)
            seconds = time.perf_counter() - t0
            peak = None
            if trace:
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
    return seconds, model, peak


def n_iter(model):
    return int(np.max(model.n_iter_))


# ---------------------------------------------------------------------------
# One evaluation against the two matrix products


def _median_time(fun, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fun()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# ---------------------------------------------------------------------------
# Competing processes


_SPIN = "import time\nend = time.monotonic() + {0}\nwhile time.monotonic() < end: pass"


class Competitors:
    """``n`` CPU-bound processes while the ``with`` block runs.

    Each one also stops by itself after ``seconds``, should this process die
    without stopping it.
    """

    def __init__(self, n, seconds):
        self.n, self.seconds = n, seconds
        self.procs = []

    def __enter__(self):
        self.procs = [subprocess.Popen([sys.executable, "-c",
                                        _SPIN.format(self.seconds)])
                      for _ in range(self.n)]
        time.sleep(0.2 if self.n else 0.0)  # let them start spinning
        return self

    def __exit__(self, *exc_info):
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            proc.wait()
        self.procs = []


def evaluation_timing(X, y, repeat):
    """Seconds: our loss_grad and the two products at one and at all threads,
    and LR's evaluation at one thread."""
    from sklearn._loss.loss import HalfMultinomialLoss
    from sklearn.linear_model._linear_loss import LinearModelLoss

    classes, codes = np.unique(y, return_inverse=True)
    k, d = len(classes), X.shape[1]
    w = np.ones(len(codes))
    mu, sigma = column_scaling(X, w, True)
    obj = SoftmaxObjective(X, codes, w, k, 1.0, True, mu=mu, sigma=sigma)
    rng = np.random.default_rng(0)
    theta = rng.standard_normal(obj.n_params) * 0.1
    coef = (rng.standard_normal((k, d)) * 0.01).astype(X.dtype)
    R = rng.random((X.shape[0], k)).astype(X.dtype)

    def products():
        Z = X @ coef.T
        if sp.issparse(X):
            return Z, (X.T @ R)
        return Z, R.T @ X

    lml = LinearModelLoss(base_loss=HalfMultinomialLoss(n_classes=k),
                          fit_intercept=True)
    lr_coef = np.zeros((k, d + 1), dtype=X.dtype)
    lr_coef[:, :-1] = coef
    yf = codes.astype(X.dtype)
    sw = w.astype(X.dtype)

    def lr_eval():
        return lml.loss_gradient(lr_coef, X, yf, sw, l2_reg_strength=1e-5,
                                 n_threads=1)

    def ours():
        return obj.loss_grad(theta)

    products()
    lr_eval()
    out = {"products, all": _median_time(products, repeat)}
    with limit_blas("all"):
        out["products, 1"] = _median_time(products, repeat)
        out["LR, 1"] = _median_time(lr_eval, repeat)
    # Ours as inside fit: the executor's threads, every BLAS at one thread.
    for threads, n in (("all", None), ("1", 1)):
        with fit_executor(n):
            ours()
            out[f"ours, {threads}"] = _median_time(ours, repeat)
    return out


# ---------------------------------------------------------------------------
# Tables


def print_table(header, rows, file=sys.stdout):
    """An reStructuredText simple table (readable in a terminal too)."""
    cells = [header, *rows]
    widths = [max(len(str(r[i])) for r in cells) for i in range(len(header))]
    rule = "  ".join("=" * w for w in widths)

    def line(r):
        return "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True))

    print(rule, line(header), rule, *map(line, rows), rule, sep="\n", file=file,
          flush=True)


def run_fits(name, X, y, solver_table, repeat, levels, compete_seconds):
    """Median seconds per (level, solver), alternating levels and solvers."""
    times = {(level, s): [] for level in levels for s in solver_table}
    models = {}
    for _ in range(repeat):
        for level in levels:
            with Competitors(level, compete_seconds):
                for s, (make, context) in solver_table.items():
                    seconds, model, _ = fit_once(make, context, X, y)
                    times[level, s].append(seconds)
                    if level == levels[0]:
                        models[s] = model
                    print(f"  {name} / {s} / {level} competitors: "
                          f"{seconds:.3f} s", file=sys.stderr, flush=True)
    return {k: statistics.median(v) for k, v in times.items()}, models


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="small problems: a smoke run in seconds")
    parser.add_argument("--problems", nargs="+", default=None,
                        help="subset of: dense dense32 classes100 unscaled "
                             "sparse digits")
    parser.add_argument("--repeat", type=int, default=3,
                        help="alternating runs per solver (median reported)")
    parser.add_argument("--no-intelex", action="store_true")
    parser.add_argument("--no-memory", action="store_true",
                        help="skip the traced fit that measures peak memory")
    parser.add_argument("--no-eval", action="store_true",
                        help="skip the per-evaluation table")
    parser.add_argument("--eval-repeat", type=int, default=7)
    parser.add_argument("--compete", type=int, nargs="+", default=[],
                        metavar="N", help="also fit while N CPU-bound processes "
                        "run (several values: several rounds)")
    parser.add_argument("--compete-seconds", type=float, default=600,
                        help="competitors stop by themselves after this long")
    parser.add_argument("--solvers", nargs="+", default=None,
                        choices=list(SHORT_NAMES),
                        help="subset of the solvers (default: all)")
    args = parser.parse_args(argv)
    # A terminated benchmark still stops its competitors (the with blocks).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))

    table = problems(args.quick)
    names = args.problems or list(table)
    unknown = set(names) - set(table)
    if unknown:
        parser.error(f"unknown problems {sorted(unknown)}; choose from {list(table)}")
    solver_table = solvers(not args.no_intelex)
    if args.solvers:
        keep = {SHORT_NAMES[s] for s in args.solvers}
        solver_table = {k: v for k, v in solver_table.items() if k in keep}
    levels = [0, *[n for n in args.compete if n > 0]]
    print(f"# {os.cpu_count()} CPUs ({available_threads()} threads for our "
          f"fits), numpy {np.__version__}, scipy {scipy.__version__}, repeat "
          f"{args.repeat}, load average {os.getloadavg()[0]:.1f}", flush=True)

    fit_rows, eval_rows, compete_rows = [], [], []
    for name in names:
        _, build = table[name]
        X, y = build()
        f_opt = reference_optimum(name, X, y, args.quick)
        yardstick = objective(X, y)
        times, models = run_fits(name, X, y, solver_table, args.repeat, levels,
                                 args.compete_seconds)
        lr_time = times.get((0, "LR"), float("nan"))
        for s, (make, context) in solver_table.items():
            peak = None
            if not args.no_memory:
                peak = fit_once(make, context, X, y, trace=True)[2]
            t = times[0, s]
            f = yardstick(models[s].coef_, models[s].intercept_)
            fit_rows.append([
                name, s, f"{t:.3f}", f"{t / lr_time:.3f}", n_iter(models[s]),
                f"{(f - f_opt) / abs(f_opt):.1e}",
                "" if peak is None else f"{peak / 2**20:.0f}",
            ])
            print("  " + " | ".join(map(str, fit_rows[-1])), file=sys.stderr,
                  flush=True)
            if len(levels) > 1:
                ours_idle = times[0, "SoftmaxClassifier"]
                compete_rows.append([name, s] + [
                    f"{times[level, s]:.3f} ({times[level, s] / ours_idle:.2f})"
                    for level in levels])
        if not args.no_eval:
            e = evaluation_timing(X, y, args.eval_repeat)
            eval_rows.append([
                name, f"{e['ours, 1'] * 1e3:.1f}", f"{e['products, 1'] * 1e3:.1f}",
                f"{e['ours, 1'] / e['products, 1']:.2f}",
                f"{e['ours, all'] * 1e3:.1f}", f"{e['products, all'] * 1e3:.1f}",
                f"{e['ours, all'] / e['products, all']:.2f}",
                f"{e['LR, 1'] * 1e3:.1f}"])

    print(f"\nFits with default settings (median of {args.repeat} alternating "
          f"runs; gap = (f - f*) / f*); load average {os.getloadavg()[0]:.1f}:\n")
    print_table(["problem", "solver", "time [s]", "/ LR", "iter", "gap",
                 "peak [MiB]"], fit_rows)
    if compete_rows:
        print("\nThe same fits while N CPU-bound processes run: median seconds "
              "(over SoftmaxClassifier's time without them):\n")
        print_table(["problem", "solver", *[f"N = {level}" for level in levels]],
                    compete_rows)
    if eval_rows:
        print("\nOne loss + gradient evaluation against the two matrix products "
              "X @ W.T and R.T @ X alone,\nwith one thread (every BLAS at one) "
              f"and with all {available_threads()} (ours: the fit's threads, "
              "BLAS at one; the products:\nNumPy's BLAS pool); LR's evaluation "
              "(LinearModelLoss.loss_gradient) at one thread:\n")
        print_table(["problem", "ours, 1 [ms]", "products, 1 [ms]", "ratio",
                     "ours, all [ms]", "products, all [ms]", "ratio",
                     "LR's, 1 [ms]"], eval_rows)


if __name__ == "__main__":
    main()
