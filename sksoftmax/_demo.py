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
import csv
import sys
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_validate
from threadpoolctl import threadpool_limits

from sksoftmax._objective import SoftmaxObjective
from sksoftmax._softmax import SoftmaxClassifier

DESCRIPTION = """\
Compare sksoftmax.SoftmaxClassifier with scikit-learn's
LogisticRegression(solver="lbfgs") in k-fold cross-validation and in a small
GridSearchCV over C.

Without --data the demo uses scikit-learn's bundled digits data (1797 images
of 8x8 pixels, 10 classes) with the raw pixel values 0..16, unscaled. With
--data FILE.csv --target COLUMN it uses your CSV file instead: a header row,
numeric feature columns, and a target column of class labels (any values).
(From pandas, write it with DataFrame.to_csv(path, index=False).)

The table shows, averaged over the folds: test accuracy, test log-loss, fit
time, L-BFGS iterations, and the training objective (mean cross-entropy plus
the L2 penalty ||W||^2 / (2 C n), the objective both models minimize; lower is
better). A '*' marks fits that stopped at max_iter before converging (their
ConvergenceWarning is not printed).
"""


def build_parser():
    """The command-line parser of ``python -m sksoftmax``.

    Returns
    -------
    parser : argparse.ArgumentParser
        Parser for the demo's options.
    """
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
        "--no-grid", action="store_true",
        help="skip the GridSearchCV part",
    )
    return parser


def load_csv(path, target):
    """Read a CSV file into numeric features and a label vector.

    Parameters
    ----------
    path : str
        CSV file with a header row.
    target : str
        Name of the column holding the class labels.

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
    with open(path, newline="") as f:
        rows = [row for row in csv.reader(f) if row]
    if not rows:
        raise ValueError(f"{path} is empty: expected a header row and data rows.")
    header = [name.strip() for name in rows[0]]
    if target not in header:
        raise ValueError(
            f"column {target!r} not found in {path}; its columns are: "
            + ", ".join(repr(name) for name in header)
        )
    data = rows[1:]
    if not data:
        raise ValueError(f"{path} has a header but no data rows.")
    j = header.index(target)
    feature_names = header[:j] + header[j + 1:]
    if not feature_names:
        raise ValueError(f"{path} has no feature columns besides {target!r}.")
    X = np.empty((len(data), len(feature_names)))
    labels = []
    for i, row in enumerate(data, start=2):
        if len(row) != len(header):
            raise ValueError(
                f"line {i} of {path} has {len(row)} fields; the header has "
                f"{len(header)}."
            )
        labels.append(row[j].strip())
        values = row[:j] + row[j + 1:]
        for k, value in enumerate(values):
            try:
                X[i - 2, k] = float(value)
            except ValueError:
                what = (f"the non-numeric value {value!r}" if value.strip()
                        else "a missing value")
                raise ValueError(
                    f"line {i} of {path}: feature column {feature_names[k]!r} "
                    f"has {what}; every column except the target must be "
                    "numeric and complete."
                ) from None
    return X, _parse_labels(labels), feature_names


def _parse_labels(labels):
    """Labels as integers, else floats, else the strings themselves."""
    for kind in (int, float):
        try:
            return np.array([kind(v) for v in labels])
        except ValueError:
            continue
    return np.array(labels)


def objective_value(X, y, coef, intercept, C):
    """The penalized mean cross-entropy of the softmax model ``(coef, intercept)``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Training data.
    y : ndarray of shape (n_samples,)
        Labels.
    coef : ndarray of shape (n_classes, n_features)
        Softmax coefficients, one row per class (sorted labels).
    intercept : ndarray of shape (n_classes,)
        Intercepts.
    C : float
        Inverse regularization strength of the softmax objective.

    Returns
    -------
    value : float
        ``mean_i CE_i + ||coef||^2 / (2 C n_samples)``.
    """
    classes, codes = np.unique(y, return_inverse=True)
    objective = SoftmaxObjective(
        np.asarray(X, dtype=np.float64), codes, np.ones(len(y)), len(classes),
        C, True,
    )
    return objective.loss_grad(objective.from_original(coef, intercept))[0]


def softmax_params(model):
    """``(coef, intercept)`` of a fitted model as a K-vector softmax.

    A binary ``LogisticRegression`` has one vector ``w``; the softmax with the
    same probabilities and the smallest penalty has ``(-w / 2, w / 2)``.

    Parameters
    ----------
    model : SoftmaxClassifier or LogisticRegression
        A fitted model.

    Returns
    -------
    coef : ndarray of shape (n_classes, n_features)
    intercept : ndarray of shape (n_classes,)
    """
    coef, intercept = model.coef_, model.intercept_
    if len(model.classes_) == 2 and coef.shape[0] == 1:
        coef = np.vstack([-coef / 2, coef / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    return coef, intercept


def n_iterations(model):
    """Number of L-BFGS iterations of a fitted model, as an int."""
    return int(np.max(model.n_iter_))


def make_models(C, n_classes, max_iter):
    """The two models, set up to minimize the same objective.

    Parameters
    ----------
    C : float
        Softmax ``C``; ``LogisticRegression`` gets ``2 * C`` for two classes.
    n_classes : int
        Number of classes.
    max_iter : int or None
        Iteration limit of both; None keeps each library's default.

    Returns
    -------
    models : dict
        ``{name: estimator}``.
    """
    lr_C = 2 * C if n_classes == 2 else C
    limit = {} if max_iter is None else {"max_iter": max_iter}
    return {
        "SoftmaxClassifier": SoftmaxClassifier(C=C, **limit),
        "LogisticRegression": LogisticRegression(C=lr_C, **limit),
    }


def cross_validation_table(X, y, cv, C, max_iter):
    """Cross-validate both models; one row of mean scores per model.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Data.
    y : ndarray of shape (n_samples,)
        Labels.
    cv : StratifiedKFold
        The folds.
    C : float
        Softmax ``C``.
    max_iter : int
        Iteration limit.

    Returns
    -------
    rows : list of dict
        Keys ``model, accuracy, log_loss, fit_time, n_iter, objective,
        not_converged``.
    """
    n_classes = len(np.unique(y))
    rows = []
    for name, model in make_models(C, n_classes, max_iter).items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            result = cross_validate(
                model, X, y, cv=cv, scoring=("accuracy", "neg_log_loss"),
                return_estimator=True, return_indices=True,
            )
        fitted = result["estimator"]
        train = result["indices"]["train"]
        objectives = [
            objective_value(X[idx], y[idx], *softmax_params(est), C)
            for est, idx in zip(fitted, train, strict=True)
        ]
        iters = [n_iterations(est) for est in fitted]
        limits = [est.max_iter for est in fitted]
        rows.append({
            "model": name,
            "accuracy": float(np.mean(result["test_accuracy"])),
            "log_loss": float(-np.mean(result["test_neg_log_loss"])),
            "fit_time": float(np.mean(result["fit_time"])),
            "n_iter": float(np.mean(iters)),
            "objective": float(np.mean(objectives)),
            "not_converged": sum(it >= limit
                                 for it, limit in zip(iters, limits, strict=True)),
        })
    return rows


def grid_search_table(X, y, cv, grid, max_iter):
    """``GridSearchCV`` over ``C`` (scored by log-loss) for both models.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Data.
    y : ndarray of shape (n_samples,)
        Labels.
    cv : StratifiedKFold
        The folds.
    grid : list of float
        Softmax values of ``C``.
    max_iter : int
        Iteration limit.

    Returns
    -------
    rows : list of dict
        Keys ``model, best_C, log_loss, accuracy, time, objective``.
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
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            search.fit(X, y)
        elapsed = time.perf_counter() - start
        best = search.best_index_
        best_C = search.best_params_["C"] / scale
        est = search.best_estimator_
        rows.append({
            "model": name,
            "best_C": best_C,
            "log_loss": float(-search.cv_results_["mean_test_log_loss"][best]),
            "accuracy": float(search.cv_results_["mean_test_accuracy"][best]),
            "time": elapsed,
            "objective": objective_value(X, y, *softmax_params(est), best_C),
            "not_converged": n_iterations(est) >= est.max_iter,
        })
    return rows


def format_cv_table(rows, max_iter):
    """Render :func:`cross_validation_table` rows as text.

    Parameters
    ----------
    rows : list of dict
        Output of :func:`cross_validation_table`.
    max_iter : int
        Iteration limit, for the footnote.

    Returns
    -------
    text : str
    """
    best = min(row["objective"] for row in rows)
    lines = [
        f"{'model':<20} {'accuracy':>9} {'log-loss':>9} {'fit time':>9} "
        f"{'iterations':>11} {'objective':>11} {'above best':>11}",
    ]
    for row in rows:
        star = "*" if row["not_converged"] else " "
        lines.append(
            f"{row['model']:<20} {row['accuracy']:>9.4f} {row['log_loss']:>9.4f} "
            f"{row['fit_time']:>8.3f}s {row['n_iter']:>10.1f}{star} "
            f"{row['objective']:>11.5f} {_gap(row['objective'], best):>11}"
        )
    lines += _footnote(sum(row["not_converged"] for row in rows), max_iter, "fits")
    return "\n".join(lines)


def format_grid_table(rows, max_iter):
    """Render :func:`grid_search_table` rows as text.

    Parameters
    ----------
    rows : list of dict
        Output of :func:`grid_search_table`.
    max_iter : int
        Iteration limit, for the footnote.

    Returns
    -------
    text : str
    """
    lines = [
        f"{'model':<20} {'best C':>8} {'log-loss':>9} {'accuracy':>9} "
        f"{'search time':>12} {'objective':>11}",
    ]
    for row in rows:
        star = "*" if row["not_converged"] else " "
        lines.append(
            f"{row['model']:<20} {row['best_C']:>8g} {row['log_loss']:>9.4f} "
            f"{row['accuracy']:>9.4f} {row['time']:>11.2f}s "
            f"{row['objective']:>10.5f}{star}"
        )
    lines += _footnote(
        sum(bool(row["not_converged"]) for row in rows), max_iter, "refits"
    )
    return "\n".join(lines)


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


def _footnote(n_unconverged, max_iter, what):
    if not n_unconverged:
        return []
    return [
        f"* {n_unconverged} {what} stopped at {_limit_text(max_iter)} without "
        "converging (ConvergenceWarning suppressed): their objective is above "
        "the optimum."
    ]


def run(X, y, *, title, cv=5, C=1.0, grid=(0.01, 0.1, 1.0, 10.0), max_iter=None,
        do_grid=True, out=None):
    """Run both experiments on ``(X, y)`` and print the tables.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Data.
    y : ndarray of shape (n_samples,)
        Labels.
    title : str
        One line describing the data.
    cv : int, default=5
        Number of folds.
    C : float, default=1.0
        Softmax ``C`` of the cross-validation.
    grid : sequence of float, default=(0.01, 0.1, 1.0, 10.0)
        Values of ``C`` for ``GridSearchCV``.
    max_iter : int, default=None
        Iteration limit of both models.
    do_grid : bool, default=True
        Whether to run the grid search.
    out : file-like, default=None
        Where to print; None means ``sys.stdout``.
    """
    out = sys.stdout if out is None else out
    n_classes = len(np.unique(y))
    folds = StratifiedKFold(n_splits=cv, shuffle=True, random_state=0)
    print(title, file=out)
    print(
        f"{X.shape[0]} samples, {X.shape[1]} features, {n_classes} classes; "
        f"{cv}-fold stratified cross-validation; {_limit_text(max_iter)}.",
        file=out,
    )
    if n_classes == 2:
        print(
            "Two classes: LogisticRegression runs with 2*C, which has the same "
            "objective as the two-vector softmax with C.",
            file=out,
        )
    # One BLAS thread for both models: the products here are small (a few
    # thousand rows, tens of columns), where extra threads only add overhead,
    # and on a busy machine spinning BLAS threads slowed fits 10-50x.
    with threadpool_limits(limits=1, user_api="blas"):
        _run_experiments(X, y, folds, C, grid, max_iter, do_grid, out)


def _run_experiments(X, y, folds, C, grid, max_iter, do_grid, out):
    print(f"\nCross-validation, C={C:g} (means over the folds; objective on the "
          "training folds):", file=out)
    rows = cross_validation_table(X, y, folds, C, max_iter)
    print(format_cv_table(rows, max_iter), file=out)
    if do_grid:
        print(
            "\nGridSearchCV over C in {" + ", ".join(f"{c:g}" for c in grid)
            + "}, refit on the best mean log-loss (objective of the refit on all "
            "the data):",
            file=out,
        )
        print(format_grid_table(grid_search_table(X, y, folds, grid, max_iter),
                                max_iter), file=out)


def main(argv=None):
    """Entry point of ``python -m sksoftmax``.

    Parameters
    ----------
    argv : list of str, default=None
        Command-line arguments; None means ``sys.argv[1:]``.

    Returns
    -------
    status : int
        Exit status (0 on success). Usage errors exit through
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
    if args.data is None:
        if args.target is not None:
            parser.error("--target needs --data")
        X, y = load_digits(return_X_y=True)
        title = ("Digits (scikit-learn's bundled copy), raw pixel values 0..16, "
                 "no scaling.")
    else:
        if args.target is None:
            parser.error("--data needs --target COLUMN")
        try:
            X, y, _ = load_csv(args.data, args.target)
        except OSError as exc:
            parser.error(f"cannot read {args.data}: {exc.strerror or exc}")
        except ValueError as exc:
            parser.error(str(exc))
        title = f"{args.data}, target column {args.target!r}."
        classes, counts = np.unique(y, return_counts=True)
        if len(classes) < 2:
            parser.error(f"column {args.target!r} has fewer than two classes")
        if counts.min() < args.cv:
            parser.error(
                f"the smallest class ({classes[np.argmin(counts)]!r}) has "
                f"{counts.min()} samples; stratified {args.cv}-fold "
                "cross-validation needs at least --cv samples per class"
            )
    run(X, y, title=title, cv=args.cv, C=args.C, grid=args.grid,
        max_iter=args.max_iter, do_grid=not args.no_grid)
    return 0
