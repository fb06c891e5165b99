"""The demo behind ``python -m sksoftmax``.

Fits :class:`~sksoftmax.SoftmaxClassifier` and scikit-learn's
``LogisticRegression(solver="lbfgs")`` side by side, in k-fold
cross-validation and in a small ``GridSearchCV`` over ``C``, on scikit-learn's
bundled digits data (raw pixel values, no scaling) or on a user's CSV file,
and prints one table per experiment.

Both models are scored on the objective each of them minimizes. For three or
more classes that is the same objective, so one function evaluates both fitted
models. For two classes the symmetric softmax with ``C`` equals
``LogisticRegression(C=2 * C)``, so the demo runs ``LogisticRegression`` with
``2 * C`` and maps its single coefficient vector ``w`` to the two softmax
vectors ``(-w / 2, w / 2)``.
"""

import argparse
import contextlib
import csv
import io
import re
import sys
import textwrap
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_validate
from threadpoolctl import threadpool_info, threadpool_limits

from sksoftmax._executor import available_threads
from sksoftmax._problem import objective_function
from sksoftmax._softmax import SoftmaxClassifier
from sksoftmax._targets import plain_label

DESCRIPTION = """\
Compare sksoftmax.SoftmaxClassifier with scikit-learn's
LogisticRegression(solver="lbfgs") in k-fold cross-validation and in a small
GridSearchCV over C.

Without --data the demo uses scikit-learn's bundled digits data (1797 images
of 8x8 pixels, 10 classes) with the raw pixel values 0..16, unscaled. With
--data FILE.csv --target COLUMN it uses your CSV file instead: a header row,
numeric feature columns, and a target column of class labels (any values).
The delimiter is detected (or set with --sep); --drop leaves columns out. An
unnamed first column holding 0, 1, ..., n-1 (the index that pandas'
DataFrame.to_csv writes by default) is dropped, with a note: as a feature it
would leak the order of the rows.

The tables show, over the folds: held-out accuracy and log-loss (mean and
standard deviation), fit time, L-BFGS iterations, the training objective
(mean cross-entropy plus the L2 penalty ||W||^2 / (2 C n), the objective both
models minimize; lower is better) and how many fits raised a
ConvergenceWarning; a legend under each table and a summary say the same.
"""


def build_parser():
    """The command-line parser of ``python -m sksoftmax``."""
    parser = argparse.ArgumentParser(
        prog="python -m sksoftmax",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--data", metavar="FILE.csv",
        help="CSV file with a header row (default: scikit-learn's digits data)",
    )
    parser.add_argument(
        "--target", metavar="COLUMN",
        help="name of the class-label column of --data (required with --data)",
    )
    parser.add_argument(
        "--cv", type=int, default=5, metavar="K",
        help="number of cross-validation folds (default: 5)",
    )
    parser.add_argument(
        "--C", type=float, default=1.0, dest="C",
        help="inverse regularization strength of the cross-validation "
        "(default: 1.0)",
    )
    parser.add_argument(
        "--grid", type=float, nargs="+", default=[0.01, 0.1, 1.0, 10.0],
        metavar="C", help="values of C for GridSearchCV (default: 0.01 0.1 1 10)",
    )
    parser.add_argument(
        "--max-iter", type=int, default=None, dest="max_iter",
        help="max_iter of both models (default: each library's own default, "
        "1000 for SoftmaxClassifier and 100 for LogisticRegression)",
    )
    parser.add_argument(
        "--threads", type=int, default=None, metavar="N",
        help="run both models on N threads (BLAS pools limited with "
        "threadpoolctl, which SoftmaxClassifier's own threads follow; default: "
        "each library's default)",
    )
    parser.add_argument(
        "--no-grid", action="store_true",
        help="skip the GridSearchCV part",
    )
    parser.add_argument(
        "--sep", metavar="CHAR",
        help="field delimiter of --data (default: detected among , ; tab |, "
        "and printed)",
    )
    parser.add_argument(
        "--drop", metavar="COL[,COL...]", default=[],
        type=lambda text: [name.strip() for name in text.split(",") if name.strip()],
        help="columns of --data to leave out (an unnamed pandas index column "
        "0..n-1 is left out by itself, with a note)",
    )
    return parser


_DELIMITERS = ",;\t|"


def load_csv(path, target, *, sep=None, drop=(), notes=None):
    """Read a CSV file into numeric features and a label vector.

    Parameters
    ----------
    path : str
        CSV file with a header row.
    target : str
        Name of the column holding the class labels.
    sep : str, default=None
        Field delimiter; None detects it among ``, ; tab |`` from the first
        lines (a comma where nothing else fits).
    drop : sequence of str, default=()
        Names of columns to leave out.
    notes : list, default=None
        Where to append what was decided on the user's behalf (the delimiter
        detected, a pandas index column dropped), one sentence each.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        The other columns, as float64.
    y : ndarray of shape (n_samples,)
        The labels: integers or floats where all parse as numbers, else strings.
    feature_names : list of str
        Names of the feature columns.

    Raises
    ------
    ValueError
        If the file has no header, no rows, no such column, no feature column,
        ragged rows or a non-numeric feature value.
    """
    notes = [] if notes is None else notes
    with open(path, newline="") as f:
        text = f.read()
    if sep is None:
        sep = _sniff_delimiter(text)
        notes.append(f"Delimiter {sep!r} (detected; set it with --sep).")
    rows = [row for row in csv.reader(io.StringIO(text), delimiter=sep) if row]
    header, data = _checked_rows(path, rows, target, sep, drop)
    dropped = set(drop)
    index = _pandas_index_column(header, data)
    if index is not None and header[index] not in dropped:
        name = header[index] or "(unnamed)"
        notes.append(
            f"Dropped column {index + 1}, {name}: it holds the row numbers "
            f"0..{len(data) - 1}, a pandas index written by to_csv(); as a "
            "feature it can leak the order of the rows (write the file with "
            "index=False, or rename the column to keep it)."
        )
        dropped.add(header[index])
    j = header.index(target)
    keep = [k for k, name in enumerate(header) if k != j and name not in dropped]
    if not keep:
        raise ValueError(f"{path} has no feature columns besides {target!r}.")
    X = _numeric_columns(path, header, data, keep)
    labels = [row[j].strip() for row in data]
    return X, _parse_labels(labels), [header[k] for k in keep]


def _checked_rows(path, rows, target, sep, drop):
    """The header and data rows of a CSV file, checked for ``load_csv``."""
    if not rows:
        raise ValueError(f"{path} is empty: expected a header row and data rows.")
    header = [name.strip() for name in rows[0]]
    if target not in header:
        hint = ("" if len(header) > 1 else
                f"; the whole header is one field: is the delimiter {sep!r} "
                "right? (--sep)")
        raise ValueError(
            f"column {target!r} not found in {path}; its columns are: "
            + ", ".join(repr(name) for name in header) + hint
        )
    data = rows[1:]
    if not data:
        raise ValueError(f"{path} has a header but no data rows.")
    for i, row in enumerate(data, start=2):
        if len(row) != len(header):
            raise ValueError(
                f"line {i} of {path} has {len(row)} fields; the header has "
                f"{len(header)}."
            )
    unknown = [name for name in drop if name not in header]
    if unknown:
        raise ValueError(
            "--drop names columns that are not in the file: "
            + ", ".join(repr(name) for name in unknown)
        )
    if target in drop:
        raise ValueError(f"--drop names the target column {target!r}.")
    return header, data


def _numeric_columns(path, header, data, keep):
    """The ``keep`` columns of the data rows as float64, or a clear error."""
    X = np.empty((len(data), len(keep)))
    for i, row in enumerate(data, start=2):
        for col, k in enumerate(keep):
            value = row[k]
            try:
                X[i - 2, col] = float(value)
            except ValueError:
                what = (f"the non-numeric value {value!r}" if value.strip()
                        else "a missing value")
                raise ValueError(
                    f"line {i} of {path}: feature column {header[k]!r} "
                    f"has {what}; every column except the target must be "
                    "numeric and complete (leave a column out with --drop)."
                ) from None
    return X


def _sniff_delimiter(text):
    """The delimiter of a CSV text among ``, ; tab |``; a comma if unclear."""
    sample = "\n".join(text.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        return ","


def _pandas_index_column(header, data):
    """Position of a pandas index column (0, 1, ..., n-1 under no name), or None.

    ``DataFrame.to_csv()`` writes the index first, with an empty name; read
    back and written again, it becomes ``Unnamed: 0``.
    """
    for k, name in enumerate(header):
        if name and not re.fullmatch(r"Unnamed: \d+", name):
            continue
        try:
            values = [float(row[k]) for row in data]
        except ValueError:
            continue
        if values == list(range(len(data))):
            return k
    return None


def _parse_labels(labels):
    """Labels as integers, else floats, else the strings themselves."""
    for kind in (int, float):
        try:
            return np.array([kind(v) for v in labels])
        except ValueError:
            continue
    return np.array(labels)


def n_iterations(model):
    """Number of L-BFGS iterations of a fitted model, as an int."""
    return int(np.max(model.n_iter_))


def make_models(C, n_classes, max_iter):
    """The two models, set up to minimize the same objective: ``{name: estimator}``.

    ``C`` is the softmax ``C`` (``LogisticRegression`` gets ``2 * C`` for
    two classes); ``max_iter`` the limit of both, None for each library's
    default.
    """
    lr_C = 2 * C if n_classes == 2 else C
    limit = {} if max_iter is None else {"max_iter": max_iter}
    return {
        "SoftmaxClassifier": SoftmaxClassifier(C=C, **limit),
        "LogisticRegression": LogisticRegression(C=lr_C, **limit),
    }


def _fit_recording_warnings(fit):
    """Run ``fit()``; return its result and how many ConvergenceWarnings it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        result = fit()
    return result, sum(issubclass(w.category, ConvergenceWarning) for w in caught)


def cross_validation_table(X, y, cv, C, max_iter):
    """Cross-validate both models on the folds ``cv``; one row per model.

    ``C`` and ``max_iter`` as in :func:`make_models`. Each row (a dict) has
    the keys ``model, accuracy, accuracy_std, accuracy_folds, log_loss,
    log_loss_std, fit_time, n_iter, objective, warned, n_fits``: fold means
    and spreads.
    """
    n_classes = len(np.unique(y))
    rows = []
    for name, model in make_models(C, n_classes, max_iter).items():
        result, warned = _fit_recording_warnings(lambda model=model: cross_validate(
            model, X, y, cv=cv, scoring=("accuracy", "neg_log_loss"),
            return_estimator=True, return_indices=True,
        ))
        fitted = result["estimator"]
        train = result["indices"]["train"]
        objectives = [
            objective_function(X[idx], y[idx], C)(est.coef_, est.intercept_)
            for est, idx in zip(fitted, train, strict=True)
        ]
        accuracy = np.asarray(result["test_accuracy"], dtype=float)
        log_loss = -np.asarray(result["test_neg_log_loss"], dtype=float)
        rows.append({
            "model": name,
            "accuracy": float(np.mean(accuracy)),
            "accuracy_std": float(np.std(accuracy)),
            "accuracy_folds": accuracy,
            "log_loss": float(np.mean(log_loss)),
            "log_loss_std": float(np.std(log_loss)),
            "fit_time": float(np.mean(result["fit_time"])),
            "n_iter": float(np.mean([n_iterations(est) for est in fitted])),
            "objective": float(np.mean(objectives)),
            "warned": warned,
            "n_fits": len(fitted),
        })
    return rows


def grid_search_table(X, y, cv, grid, max_iter):
    """``GridSearchCV`` over the softmax ``C`` values of ``grid``, by log-loss.

    On the folds ``cv``, ``max_iter`` as in :func:`make_models`. Each row (a
    dict, one per model) has the keys ``model, best_C, log_loss,
    log_loss_std, accuracy, accuracy_std, time, objective, refit_warned,
    max_iter, warned, n_fits``.
    """
    n_classes = len(np.unique(y))
    factor = 2 if n_classes == 2 else 1
    rows = []
    for name, model in make_models(1.0, n_classes, max_iter).items():
        scale = factor if name == "LogisticRegression" else 1
        search = GridSearchCV(
            model, {"C": [scale * c for c in grid]}, cv=cv,
            scoring={"log_loss": "neg_log_loss", "accuracy": "accuracy"},
            refit="log_loss",
        )
        start = time.perf_counter()
        _, warned = _fit_recording_warnings(lambda search=search: search.fit(X, y))
        elapsed = time.perf_counter() - start
        best = search.best_index_
        best_C = search.best_params_["C"] / scale
        est = search.best_estimator_
        results = search.cv_results_
        rows.append({
            "model": name,
            "best_C": best_C,
            "log_loss": float(-results["mean_test_log_loss"][best]),
            "log_loss_std": float(results["std_test_log_loss"][best]),
            "accuracy": float(results["mean_test_accuracy"][best]),
            "accuracy_std": float(results["std_test_accuracy"][best]),
            "time": elapsed,
            "objective": objective_function(X, y, best_C)(est.coef_,
                                                        est.intercept_),
            "refit_warned": n_iterations(est) >= est.max_iter,
            "max_iter": est.max_iter,
            "warned": warned,
            "n_fits": len(grid) * cv.get_n_splits() + 1,
        })
    return rows


CV_LEGEND = """\
  accuracy, log-loss  on the held-out fold, mean (standard deviation) over the
                      folds; higher accuracy and lower log-loss are better
  fit time            seconds per fit (lower is better)
  iterations          L-BFGS iterations per fit
  objective           the value reached of the function both models minimize:
                      mean cross-entropy on the training folds plus
                      ||W||^2 / (2 C n). Lower is better; the optimum is the
                      lowest value there is
  above best          how far above the lower of the two objectives
  warned              fits that raised a ConvergenceWarning (not printed)"""


def format_cv_table(rows):
    """Render :func:`cross_validation_table` rows as text, with a legend."""
    best = min(row["objective"] for row in rows)
    lines = [
        f"{'model':<20} {'accuracy (std)':>16} {'log-loss (std)':>16} "
        f"{'fit time':>9} {'iterations':>10} {'objective':>10} "
        f"{'above best':>10} {'warned':>8}",
    ]
    for row in rows:
        lines.append(
            f"{row['model']:<20} "
            f"{_mean_std(row['accuracy'], row['accuracy_std']):>16} "
            f"{_mean_std(row['log_loss'], row['log_loss_std']):>16} "
            f"{row['fit_time']:>8.3f}s {row['n_iter']:>10.1f} "
            f"{row['objective']:>10.5f} {_gap(row['objective'], best):>10} "
            f"{_of(row['warned'], row['n_fits']):>8}"
        )
    return "\n".join([*lines, "", CV_LEGEND])


def format_grid_table(rows, max_iter=None):
    """Render :func:`grid_search_table` rows as text, with a legend.

    ``max_iter``, the iteration limit, goes into the footnote.
    """
    best = min(row["objective"] for row in rows)
    gaps = [_gap(row["objective"], best) for row in rows]
    objectives = [
        f"{row['objective']:.5f} {gap:>{max(map(len, gaps))}}"
        + (" *" if row["refit_warned"] else "  ")
        for row, gap in zip(rows, gaps, strict=True)
    ]
    width = max(len("refit objective"), *map(len, objectives))
    lines = [
        f"{'model':<20} {'best C':>7} {'log-loss (std)':>16} "
        f"{'accuracy (std)':>16} {'search time':>11} "
        f"{'refit objective':<{width}} {'warned':>9}",
    ]
    for row, objective in zip(rows, objectives, strict=True):
        lines.append(
            f"{row['model']:<20} {row['best_C']:>7g} "
            f"{_mean_std(row['log_loss'], row['log_loss_std']):>16} "
            f"{_mean_std(row['accuracy'], row['accuracy_std']):>16} "
            f"{row['time']:>10.2f}s {objective:>{width}} "
            f"{_of(row['warned'], row['n_fits']):>9}"
        )
    lines += [
        "",
        "  best C              the C with the lowest mean held-out log-loss",
        "  log-loss, accuracy  at that C: mean (standard deviation) over the "
        "folds",
        "  search time         the whole search: every C on every fold, and "
        "the refit",
        "  refit objective     of the model refitted on all the data at the "
        "best C,",
        "                      and how far above the lower of the two",
        "  warned              fits of the search (refit included) that raised a",
        "                      ConvergenceWarning (not printed)",
    ]
    stopped = [row for row in rows if row["refit_warned"]]
    if stopped:
        lines.append(textwrap.fill(
            _refit_footnote(stopped, max_iter), width=79, initial_indent="  ",
            subsequent_indent="    ",
        ))
    return "\n".join(lines)


def _refit_footnote(stopped, max_iter):
    """The footnote under the grid table, naming each refit that stopped."""
    def limit(row):
        default = "" if max_iter is not None else (
            ", sksoftmax's default" if row["model"] == "SoftmaxClassifier"
            else ", scikit-learn's default")
        return f"max_iter={row['max_iter']}{default}"

    if len(stopped) == 1:
        row = stopped[0]
        return (f"* {row['model']}'s refit stopped at {limit(row)}, without "
                "converging: its objective is above the optimum.")
    names = " and ".join(f"{row['model']} ({limit(row)})" for row in stopped)
    return (f"* The refits of {names} stopped without converging: their "
            "objectives are above the optimum.")


def _mean_std(mean, std):
    return f"{mean:.4f} ({std:.4f})"


def _of(count, total):
    return f"{count} of {total}"


def _gap(value, best):
    """Relative distance above the best objective, as text."""
    if value <= best:
        return "best"
    return f"+{(value - best) / abs(best):.1%}" if best else f"+{value - best:.3g}"


def _limit_text(max_iter):
    if max_iter is None:
        return ("each library's default max_iter (1000 for sksoftmax, 100 for "
                "scikit-learn)")
    return f"max_iter={max_iter}"


def summarize_cv(rows):
    """What the :func:`cross_validation_table` rows (ours first) show, in sentences.

    Says which model wins each column and whether the difference exceeds the
    spread across folds; nothing is left out when the reference model wins.
    """
    ours, ref = rows
    lines = ["What differs:"]
    for key, label, higher_better in (("accuracy", "accuracy", True),
                                      ("log_loss", "log-loss", False)):
        a, b = ours[key], ref[key]
        spread = max(ours[f"{key}_std"], ref[f"{key}_std"])
        if a == b:
            lines.append(f"- {label}: the same ({a:.4f}).")
            continue
        better, other = (ours, ref) if (a > b) == higher_better else (ref, ours)
        word = "higher" if better[key] > other[key] else "lower"
        diff = abs(a - b)
        noise = ("less than the standard deviation across folds "
                 f"({spread:.4f}): within fold noise" if diff < spread else
                 f"more than the standard deviation across folds ({spread:.4f})")
        lines.append(f"- {label}: {better['model']} {diff:.4f} {word}, {noise}.")
    best = min(ours["objective"], ref["objective"])
    for row in rows:
        reached = ("the lower objective" if row["objective"] <= best else
                   f"an objective {_gap(row['objective'], best)} above the other's")
        warned = (f", with a ConvergenceWarning in {row['warned']} of "
                  f"{row['n_fits']} fits" if row["warned"] else
                  ", without a warning")
        lines.append(f"- {row['model']} reached {reached} "
                     f"in {row['n_iter']:.0f} iterations{warned}.")
    faster, slower = sorted(rows, key=lambda row: row["fit_time"])
    lines.append(
        f"- time: {faster['model']} {faster['fit_time']:.3f} s per fit, "
        f"{slower['model']} {slower['fit_time']:.3f} s "
        f"({slower['fit_time'] / max(faster['fit_time'], 1e-12):.1f}x)."
    )
    return "\n".join(_wrap(line) for line in lines)


def _wrap(line, width=79):
    """A bullet line wrapped to ``width``, continuation lines indented."""
    return textwrap.fill(line, width=width, subsequent_indent="  ")


INTRO = """\
Both models minimize the same objective (mean cross-entropy plus the L2
penalty ||W||^2 / (2 C n)), so at their optima they are the same model. What
the tables compare is whether each solver gets there, and how fast; held-out
scores of two nearly equal models differ by fold noise."""


def run(X, y, *, title, cv=5, C=1.0, grid=(0.01, 0.1, 1.0, 10.0), max_iter=None,
        do_grid=True, out=None, threads=None):
    """Run both experiments on ``(X, y)`` and print the tables to ``out`` (stdout).

    ``title`` is one line describing the data, ``cv`` the number of folds,
    ``C`` the softmax ``C`` of the cross-validation, ``grid`` the values of
    ``C`` for ``GridSearchCV`` (run when ``do_grid``), ``max_iter`` the
    iteration limit of both models. ``threads`` limits both models (BLAS
    pools through threadpoolctl, which SoftmaxClassifier's own threads
    follow). None keeps each library's default.
    """
    out = sys.stdout if out is None else out
    n_classes = len(np.unique(y))
    folds = StratifiedKFold(n_splits=cv, shuffle=True, random_state=0)
    print(title, file=out)
    print(
        f"{X.shape[0]} samples, {X.shape[1]} features, {n_classes} classes; "
        f"{cv}-fold stratified cross-validation;\n{_limit_text(max_iter)}.",
        file=out,
    )
    if n_classes == 2:
        print(
            "Two classes: LogisticRegression runs with 2*C, which has the same "
            "objective as the two-vector softmax with C.",
            file=out,
        )
    print(f"\n{INTRO}", file=out)
    print("\n" + _wrap(_threads_note(threads)), file=out)
    limit = (contextlib.nullcontext() if threads is None else
             threadpool_limits(limits=threads, user_api="blas"))
    with limit:
        _run_experiments(X, y, folds, C, grid, max_iter, do_grid, out)


def _threads_note(threads):
    """How many threads each model runs on, in one sentence."""
    if threads is not None:
        return (f"Threads: both models on {threads} (--threads): the BLAS pools "
                "are limited to it, and SoftmaxClassifier's own threads follow "
                "that limit.")
    counts = sorted({info["num_threads"] for info in threadpool_info()
                     if info["user_api"] == "blas"})
    blas = "/".join(map(str, counts)) or "no BLAS found,"
    return (f"Threads: each library's default. LogisticRegression runs on this "
            f"installation's BLAS pools ({blas} threads); SoftmaxClassifier runs "
            f"its row blocks on {available_threads()} threads of its own, with "
            "BLAS at one thread inside its fits. Idle BLAS threads spin, which "
            "costs time on small data or a busy machine: --threads 1 puts both "
            "on one thread, LogisticRegression's best case there.")


def _run_experiments(X, y, folds, C, grid, max_iter, do_grid, out):
    print(f"\nCross-validation, C={C:g}, {folds.get_n_splits()} folds:",
          file=out)
    rows = cross_validation_table(X, y, folds, C, max_iter)
    print(format_cv_table(rows), file=out)
    print("\n" + summarize_cv(rows), file=out)
    if do_grid:
        print(
            "\nGridSearchCV over C in {" + ", ".join(f"{c:g}" for c in grid)
            + "}, scored by held-out log-loss:",
            file=out,
        )
        print(format_grid_table(grid_search_table(X, y, folds, grid, max_iter),
                                max_iter), file=out)


def _check_target(parser, y, target, cv):
    """Refuse targets the demo cannot cross-validate, saying why."""
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2:
        parser.error(f"column {target!r} has fewer than two classes")
    if y.dtype.kind in "iuf":
        fractional = y.dtype.kind == "f" and np.any(y != np.round(y))
        if fractional or len(classes) > max(20, len(y) // 2):
            examples = ", ".join(plain_label(v) for v in classes[:3])
            parser.error(
                f"column {target!r} looks continuous: {len(classes)} distinct "
                f"values among {len(y)} rows ({examples}, ...). This demo "
                "compares classifiers: choose a column of class labels, or bin "
                "this one into classes first (e.g. pandas.cut)."
            )
    if counts.min() < cv:
        parser.error(
            f"the smallest class ({plain_label(classes[np.argmin(counts)])}) has "
            f"{counts.min()} sample{'s' if counts.min() != 1 else ''}; "
            f"stratified {cv}-fold cross-validation needs at least {cv} per "
            "class (lower --cv)"
        )


def main(argv=None):
    """Entry point of ``python -m sksoftmax`` (``argv`` None: ``sys.argv[1:]``).

    Returns the exit status, 0; usage errors exit through
    :meth:`argparse.ArgumentParser.error` with status 2.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.cv < 2:
        parser.error("--cv must be at least 2")
    if args.C <= 0 or any(c <= 0 for c in args.grid):
        parser.error("C values must be positive")
    if args.max_iter is not None and args.max_iter < 1:
        parser.error("--max-iter must be at least 1")
    if args.threads is not None and args.threads < 1:
        parser.error("--threads must be at least 1")
    if args.data is None:
        if args.target is not None:
            parser.error("--target needs --data")
        X, y = load_digits(return_X_y=True)
        title = ("Digits (scikit-learn's bundled copy), raw pixel values 0..16, "
                 "no scaling.")
    else:
        if args.target is None:
            parser.error("--data needs --target COLUMN")
        notes = []
        try:
            X, y, _ = load_csv(args.data, args.target, sep=args.sep,
                               drop=args.drop, notes=notes)
        except OSError as exc:
            parser.error(f"cannot read {args.data}: {exc.strerror or exc}")
        except ValueError as exc:
            parser.error(str(exc))
        title = f"{args.data}, target column {args.target!r}."
        for note in notes:
            print(textwrap.fill(note, width=79))
        _check_target(parser, y, args.target, args.cv)
    run(X, y, title=title, cv=args.cv, C=args.C, grid=args.grid,
        max_iter=args.max_iter, do_grid=not args.no_grid, threads=args.threads)
    return 0
