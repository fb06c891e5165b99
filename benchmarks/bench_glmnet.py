"""L1 / elastic net against R's glmnet: one lambda, its path, cv.glmnet.

Runs glmnet through ``Rscript`` when R and the glmnet package are installed
(Debian: ``apt-get install r-base-core r-cran-glmnet``) and says so and exits
cleanly otherwise. The objectives are the same, mapped exactly:

- ``alpha = l1_ratio``, ``lambda = 1 / (C n)`` (unit sample weights),
  ``standardize=FALSE``, ``type.multinomial="ungrouped"``, an intercept;
  glmnet rescales ``penalty.factor`` to sum to ``n_features`` (all ones
  here, so nothing changes).
- Data go to R as raw float64 / int32 files in a temporary folder (exact
  bits; sparse matrices as triplets for ``Matrix::sparseMatrix``). Only the
  fitting is timed inside R (``system.time`` around ``glmnet``), our fits
  with ``time.perf_counter`` around ``fit``; R's start-up and the data
  transfer are not counted. Median of ``--repeat`` runs, alternating.

Modes (``--modes``):

``one``
    One lambda: ``glmnet(lambda=lam)`` at the default ``thresh`` against
    ``SoftmaxClassifier(C=1 / (lam n), l1_ratio=alpha)`` at its defaults,
    and (``split`` row) the same fit by the split formulation alone, for
    comparison.
``path``
    glmnet's path of 100 lambdas, log-spaced from ``lambda_max`` (the
    smallest lambda with an all-zero solution, computed here) down to the
    target, and ``SoftmaxClassifier(warm_start=True)`` along the same 100 Cs.
    Its time is the whole path; its gap is that of the last point.
``cv``
    ``cv.glmnet`` with a fixed ``foldid`` (5 stratified folds) on glmnet's own
    default lambda sequence for the data, against
    ``SoftmaxClassifierCV(Cs=1 / (lambda n_train), l1_ratios=[alpha],
    cv=the same folds)``; prints both times and whether both pick the same
    ``lambda.min`` and ``lambda.1se`` (ours computed from ``scores_`` with
    cv.glmnet's standard error). ``--cv-thresh 1e-10`` also runs cv.glmnet
    at that ``thresh`` and prints how far the default one's curve is from it.

Every gap is ``(f - f*) / f*`` with one objective function (written out
here) and ``f*`` the lower of our fit at ``tol=1e-12`` and glmnet at
``thresh=1e-14`` (cached under ``benchmarks/.cache``). The output is a
Markdown table. Run from the repository root::

    python benchmarks/bench_glmnet.py                       # everything
    python benchmarks/bench_glmnet.py --quick               # smoke run
    python benchmarks/bench_glmnet.py --problems unscaled --modes one
"""

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import PredefinedSplit, StratifiedKFold
from sklearn.preprocessing import StandardScaler

ROOT = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT), str(ROOT.parent)]
from _problems import digits, sparse_counts, timed_fit, unscaled  # noqa: E402
from _problems import objective as shared_objective  # noqa: E402

import sksoftmax._fitter as _fitter  # noqa: E402
from sksoftmax import SoftmaxClassifier, SoftmaxClassifierCV  # noqa: E402

CACHE = ROOT / ".cache"
FIT_HEADER = ["problem", "C", "l1_ratio", "solver", "s", "vs glmnet*",
              "gap", "notes"]

R_SCRIPT = r"""
suppressMessages({library(glmnet); library(Matrix)})
a <- commandArgs(TRUE); d <- a[1]; task <- a[2]
alpha <- as.numeric(a[3]); thresh <- as.numeric(a[4])
rd <- function(name, what, n)
  readBin(file.path(d, name), what, n, size = if (what == "integer") 4 else 8)
m <- rd("shape.bin", "integer", 3); n <- m[1]; p <- m[2]; nnz <- m[3]
if (nnz >= 0) {
  X <- sparseMatrix(i = rd("i.bin", "integer", nnz) + 1L,
                    j = rd("j.bin", "integer", nnz) + 1L,
                    x = rd("x.bin", "double", nnz), dims = c(n, p))
} else X <- matrix(rd("X.bin", "double", n * p), n, p)
y <- factor(rd("y.bin", "integer", n))
args <- list(X, y, family = "multinomial", alpha = alpha, standardize = FALSE,
             type.multinomial = "ungrouped", thresh = thresh)
if (task == "lambda") {  # glmnet's own default sequence
  fit <- do.call(glmnet, args)
  writeBin(as.double(fit$lambda), file.path(d, "out.bin"))
  quit(save = "no")
}
nl <- file.info(file.path(d, "lambda.bin"))$size / 8
args$lambda <- rd("lambda.bin", "double", nl)
if (task == "cv") {
  args$foldid <- rd("foldid.bin", "integer", n)
  args$type.measure <- "deviance"
  t <- system.time(fit <- do.call(cv.glmnet, args))[["elapsed"]]
  cat(t, which(fit$lambda == fit$lambda.min), which(fit$lambda == fit$lambda.1se), "\n")
  writeBin(as.double(fit$cvm), file.path(d, "out.bin"))
  quit(save = "no")
}
t <- system.time(fit <- do.call(glmnet, args))[["elapsed"]]
last <- length(fit$lambda)
W <- sapply(fit$beta, function(b) as.numeric(b[, last]))  # p x K
writeBin(c(as.double(fit$a0[, last]), as.double(W)), file.path(d, "out.bin"))
cat(t, last, nl, "\n")
"""


def glmnet_available():
    """``None`` when Rscript and glmnet work, otherwise why not."""
    if shutil.which("Rscript") is None:
        return "Rscript is not on PATH"
    probe = subprocess.run(["Rscript", "-e", "library(glmnet)"],
                           capture_output=True, text=True)
    if probe.returncode:
        return "R's glmnet package is not installed: " + probe.stderr.strip()[-200:]
    return None


class GlmnetData:
    """One data set, written once for every R call on it."""

    def __init__(self, X, y):
        self.dir = Path(tempfile.mkdtemp(prefix="bench_glmnet_"))
        self.n, self.p = X.shape
        self.classes = np.unique(y)
        codes = np.searchsorted(self.classes, y).astype("<i4")
        if sp.issparse(X):
            T = X.tocoo()
            shape = [self.n, self.p, T.nnz]
            T.row.astype("<i4").tofile(self.dir / "i.bin")
            T.col.astype("<i4").tofile(self.dir / "j.bin")
            T.data.astype("<f8").tofile(self.dir / "x.bin")
        else:
            shape = [self.n, self.p, -1]
            np.asarray(X, dtype="<f8").T.tofile(self.dir / "X.bin")  # R: by column
        np.asarray(shape, dtype="<i4").tofile(self.dir / "shape.bin")
        codes.tofile(self.dir / "y.bin")
        (self.dir / "fit.R").write_text(R_SCRIPT)

    def run(self, task, alpha, lambdas=None, thresh=1e-7, foldid=None):
        if lambdas is not None:
            np.asarray(lambdas, dtype="<f8").tofile(self.dir / "lambda.bin")
        if foldid is not None:
            np.asarray(foldid, dtype="<i4").tofile(self.dir / "foldid.bin")
        out = subprocess.run(
            ["Rscript", str(self.dir / "fit.R"), str(self.dir), task,
             repr(float(alpha)), repr(float(thresh))],
            capture_output=True, text=True)
        if out.returncode:
            raise RuntimeError(f"glmnet failed ({task}): {out.stderr[-500:]}")
        return out.stdout.split(), out.stderr.strip()

    def fit(self, task, alpha, lambdas, thresh=1e-7):
        """``(seconds, coef, intercept, warnings)`` of a glmnet fit."""
        words, stderr = self.run(task, alpha, lambdas, thresh)
        K = len(self.classes)
        raw = np.fromfile(self.dir / "out.bin", dtype="<f8")
        intercept, coef = raw[:K], raw[K:].reshape(K, self.p)
        return float(words[0]), coef, intercept, stderr

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def objective(X, codes, coef, intercept, C, l1_ratio):
    """Mean cross-entropy + (r |W|_1 + (1 - r) |W|^2 / 2) / (C n)."""
    return shared_objective(X, codes, C, l1_ratio)(coef, intercept)


def lambda_max(X, codes, alpha):
    """glmnet's first lambda: the gradient at the null model over alpha."""
    n = X.shape[0]
    priors = np.bincount(codes) / n
    R = priors[None, :] - np.eye(len(priors))[codes]
    G = np.asarray(X.T @ R) / n  # column centring is implicit: sum R = 0
    return float(np.max(np.abs(G))) / max(alpha, 1e-3)


def _cached(key, compute):
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"glmnet_{hashlib.sha1(key.encode()).hexdigest()[:16]}.npy"
    if path.exists():
        return float(np.load(path))
    value = compute()
    np.save(path, value)
    return value


def _digest(X):
    data = X.data if sp.issparse(X) else X
    return hashlib.sha1(np.ascontiguousarray(data[:2000]).tobytes()).hexdigest()


class split_only:
    """Inside the block, L1 fits use the split formulation alone."""

    def __enter__(self):
        self.saved = _fitter.working_set_applies
        _fitter.working_set_applies = lambda problem: False

    def __exit__(self, *exc):
        _fitter.working_set_applies = self.saved


def reference(name, X, y, codes, data, C, alpha):
    """``f*``: the lower of our tol=1e-12 fit and glmnet at thresh=1e-14."""
    key = f"{name}_{X.shape}_{_digest(X)}_{C}_{alpha}"

    def ours():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            m = SoftmaxClassifier(C=C, l1_ratio=alpha, tol=1e-12,
                                  max_iter=100_000).fit(X, y)
        return objective(X, codes, m.coef_, m.intercept_, C, alpha)

    def theirs():
        try:
            _, coef, b, _ = data.fit("one", alpha, [1 / (C * X.shape[0])], 1e-14)
        except RuntimeError:  # glmnet did not converge at thresh=1e-14
            return np.inf
        return objective(X, codes, coef, b, C, alpha)

    return min(_cached("ours" + key, ours), _cached("glmnet" + key, theirs))


def one_and_path(name, X, y, data, C, alpha, modes, repeat):
    """Rows of the one-lambda and path table for one case."""
    codes = np.searchsorted(np.unique(y), y)
    n = X.shape[0]
    lam = 1 / (C * n)
    f_star = reference(name, X, y, codes, data, C, alpha)
    lambdas = np.geomspace(lambda_max(X, codes, alpha), lam, 100)
    runs = {}  # label -> list of (seconds, gap, extra)

    def gap(coef, b):
        return (objective(X, codes, coef, b, C, alpha) - f_star) / f_star

    def add(label, seconds, coef, b, extra=""):
        runs.setdefault(label, []).append((seconds, gap(coef, b), extra))

    for _ in range(repeat):
        failed = any(np.isnan(v[0]) for v in runs.get("glmnet, one lambda", []))
        if "one" in modes and not failed:  # a failure takes minutes: once
            try:
                t, coef, b, err = data.fit("one", alpha, [lam])
                add("glmnet, one lambda", t, coef, b, "warned" if err else "")
            except RuntimeError:  # no convergence at the single lambda
                runs.setdefault("glmnet, one lambda", []).append(
                    (np.nan, np.nan, "failed: no convergence"))
        if "one" in modes:
            m, t, warned = timed_fit(
                lambda: SoftmaxClassifier(C=C, l1_ratio=alpha), X, y)
            add("sksoftmax default", t, m.coef_, m.intercept_,
                f"{m.n_iter_} it" + (", warned" if warned else ""))
            with split_only():
                m, t, warned = timed_fit(
                    lambda: SoftmaxClassifier(C=C, l1_ratio=alpha), X, y)
            add("sksoftmax split only", t, m.coef_, m.intercept_,
                f"{m.n_iter_} it" + (", warned" if warned else ""))
        if "path" in modes:
            t, coef, b, err = data.fit("path", alpha, lambdas)
            add("glmnet, 100-lambda path", t, coef, b, "warned" if err else "")
            model = SoftmaxClassifier(l1_ratio=alpha, warm_start=True)
            start, iters = time.perf_counter(), 0
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                for lam_k in lambdas:
                    model.set_params(C=1 / (lam_k * n)).fit(X, y)
                    iters += model.n_iter_
            add("sksoftmax warm path, same 100", time.perf_counter() - start,
                model.coef_, model.intercept_, f"{iters} it")
    rows, base = [], {}
    for label, values in runs.items():
        seconds = statistics.median(v[0] for v in values)
        worst_gap = max(v[1] for v in values)
        if label.startswith("glmnet") and np.isfinite(seconds):
            base["path" if "path" in label else "one"] = seconds
        rows.append([name, f"{C:g}", f"{alpha:g}", label, f"{seconds:.3f}",
                     f"{worst_gap:.1e}", values[-1][2]])
    for row in rows:
        # Paths against glmnet's path; one lambda against glmnet's one
        # lambda, or where that failed its path to the lambda.
        ref = base.get("path") if "path" in row[3] else base.get(
            "one", base.get("path"))
        ratio = float(row[4]) / ref if ref else np.nan
        row.insert(5, f"{ratio:.2f}x")
    return rows


def fold_ids(y, n_folds=5):
    foldid = np.empty(len(y), dtype=np.int32)
    splitter = StratifiedKFold(n_folds, shuffle=True, random_state=0)
    for k, (_, test) in enumerate(splitter.split(np.zeros(len(y)), y)):
        foldid[test] = k + 1
    return foldid


def one_se(scores):
    """cv.glmnet's choices from per-fold scores (folds x grid, higher is
    better): the best mean, and the strongest penalty within one standard
    error of it; indices into the grid, which runs from strong to weak
    (glmnet's decreasing lambdas, our increasing Cs)."""
    mean = scores.mean(axis=0)
    se = scores.std(axis=0, ddof=1) / np.sqrt(scores.shape[0])
    best = int(np.argmax(mean))
    within = np.flatnonzero(mean >= mean[best] - se[best])
    return best, int(within.min())


def cv_rows(name, X, y, data, alpha, repeat, tight_threshs=()):
    """cv.glmnet against SoftmaxClassifierCV on glmnet's lambdas and folds.

    With ``tight_threshs``, cv.glmnet also runs at those ``thresh``: its
    time there, and how far its default curve (``cvm``) is from the one at
    the tightest, tell what its default precision costs and buys.
    """
    foldid = fold_ids(y)
    words, _ = data.run("lambda", alpha)
    lambdas = np.fromfile(data.dir / "out.bin", dtype="<f8")
    n_train = X.shape[0] * (1 - 1 / foldid.max())
    Cs = 1 / (lambdas * n_train)  # increasing: glmnet's lambdas decrease
    cv = PredefinedSplit(foldid)
    threshs = [1e-7, *tight_threshs]  # glmnet's default first
    times_r, times_ours = {t: [] for t in threshs}, []
    curves = {}
    for _ in range(repeat):
        for thresh in threshs:
            words, _ = data.run("cv", alpha, lambdas, thresh, foldid=foldid)
            times_r[thresh].append(float(words[0]))
            curves[thresh] = np.fromfile(data.dir / "out.bin", dtype="<f8")
            if thresh == 1e-7:
                r_min, r_1se = int(words[1]) - 1, int(words[2]) - 1
        model, t, _ = timed_fit(lambda: SoftmaxClassifierCV(
            Cs=Cs, l1_ratios=[alpha], cv=cv), X, y)
        times_ours.append(t)
    # Our grid runs over increasing C = decreasing lambda, as glmnet's.
    best, se1 = one_se(model.scores_[:, 0, :])
    t_r, t_ours = statistics.median(times_r[1e-7]), statistics.median(times_ours)
    tightest = curves[threshs[-1]]

    def curve_error(thresh):
        diff = np.abs(curves[thresh] - tightest) / np.abs(tightest)
        return f"; curve {np.nanmax(diff):.1e} off thresh={threshs[-1]:g}"

    extra = [
        [name, f"{alpha:g}", str(len(lambdas)), f"cv.glmnet thresh={thresh:g}",
         f"{statistics.median(times_r[thresh]):.2f}",
         f"{statistics.median(times_r[thresh]) / t_r:.2f}x", curve_error(thresh)[2:]]
        for thresh in tight_threshs[:-1]]
    if tight_threshs:
        extra.append([name, f"{alpha:g}", str(len(lambdas)),
                      f"cv.glmnet thresh={threshs[-1]:g}",
                      f"{statistics.median(times_r[threshs[-1]]):.2f}",
                      f"{statistics.median(times_r[threshs[-1]]) / t_r:.2f}x",
                      "the reference curve"])
    return [
        [name, f"{alpha:g}", str(len(lambdas)), "cv.glmnet", f"{t_r:.2f}",
         "1.00x", f"min #{r_min + 1}, 1se #{r_1se + 1}"
         + (curve_error(1e-7) if tight_threshs else "")],
        *extra,
        [name, f"{alpha:g}", str(len(lambdas)), "SoftmaxClassifierCV",
         f"{t_ours:.2f}", f"{t_ours / t_r:.2f}x",
         f"min #{best + 1} ({'same' if best == r_min else 'DIFFERENT'}), "
         f"1se #{se1 + 1} ({'same' if se1 == r_1se else 'DIFFERENT'})"],
    ]


def problems(quick):
    f = 10 if quick else 1

    def digits_std():
        X, y = digits()
        return StandardScaler().fit_transform(X), y

    return {
        "unscaled": (f"{20_000 // f:,} x 50 dense, unscaled, 5 classes",
                     lambda: unscaled(20_000 // f, 50, 5),
                     [(0.1, 0.5), (1.0, 0.5), (0.1, 1.0), (1.0, 1.0)]),
        "digits_std": ("digits standardized, 1,797 x 64, 10 classes",
                       digits_std, [(1.0, 0.5), (1.0, 1.0)]),
        "sparse": (f"sparse counts {20_000 // f:,} x {5_000 // f:,}, "
                   "20 classes", lambda: sparse_counts(20_000 // f, 5_000 // f,
                                                       20),
                   [(1.0, 1.0)]),
    }


def print_table(header, rows):
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(flush=True)


def _load():
    return " ".join(f"{v:.2f}" for v in os.getloadavg()) + " (1, 5, 15 min)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--problems", default="unscaled,digits_std,sparse")
    parser.add_argument("--modes", default="one,path,cv")
    parser.add_argument("--cv-alpha", type=float, default=0.5)
    parser.add_argument("--cv-thresh", default="",
                        help="also cv.glmnet at these thresh, e.g. 1e-10 "
                             "(comma-separated, loosest first)")
    args = parser.parse_args()
    why = glmnet_available()
    if why is not None:
        print(f"bench_glmnet skipped: {why}.")
        return
    modes = set(args.modes.split(","))
    print(f"load: {_load()}; median of {args.repeat}\n")
    chosen = problems(args.quick)
    fit_rows, cv_table = [], []
    for key in args.problems.split(","):
        _, build, cases = chosen[key]
        X, y = build()
        data = GlmnetData(X, y)
        try:
            if modes & {"one", "path"}:
                for C, alpha in cases:
                    rows = one_and_path(key, X, y, data, C, alpha, modes,
                                        args.repeat)
                    print_table(FIT_HEADER, rows)
                    fit_rows += rows
            if "cv" in modes and key != "sparse":
                tight = [float(t) for t in args.cv_thresh.split(",") if t]
                cv_table += cv_rows(key, X, y, data, args.cv_alpha, args.repeat,
                                    tight)
        finally:
            data.close()
    if fit_rows:
        print("## One lambda and paths (gap against min(ours tol=1e-12, "
              "glmnet thresh=1e-14))\n\n*: a path against glmnet's path; one "
              "lambda against glmnet's one lambda, or its path where that "
              "fails.\n")
        print_table(FIT_HEADER, fit_rows)
    if cv_table:
        print("## Cross-validation on glmnet's lambdas and folds\n")
        print_table(["problem", "l1_ratio", "lambdas", "solver", "s",
                     "vs cv.glmnet", "choice"], cv_table)
    print(f"load at the end: {_load()}")


if __name__ == "__main__":
    main()
