"""Iterations and gap at the stop, for several ``tol``: the stopping rule's table.

On the six problems of ``bench_lbfgs.py`` (same data, same cached reference
optima), fits ``SoftmaxClassifier(tol=t)`` for each ``t`` and prints the
iterations and the relative gap ``(f - f*) / f*`` where it stopped, with
``f`` the objective of the fitted ``coef_`` / ``intercept_`` in float64.
Neither depends on the machine's load (only on the CPU's rounding, by a few
iterations at most), so no timing is taken.

Run from the repository root::

    python benchmarks/bench_tol.py                 # the six problems, minutes
    python benchmarks/bench_tol.py --quick         # small sizes, seconds
    python benchmarks/bench_tol.py --problems digits sparse --tols 1e-4 2e-5
"""

import argparse
import warnings

from _problems import objective, problems
from bench_lbfgs import reference_optimum
from sklearn.exceptions import ConvergenceWarning

from sksoftmax import SoftmaxClassifier

TOLS = [1e-4, 5e-5, 2e-5, 1e-5]


def sweep(X, y, f_opt, tols):
    """``[(tol, n_iter, gap, warned)]`` for fits at each tolerance."""
    value = objective(X, y)
    rows = []
    for tol in tols:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            model = SoftmaxClassifier(tol=tol, max_iter=2000).fit(X, y)
        f = value(model.coef_, model.intercept_)
        warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
        rows.append((tol, model.n_iter_, (f - f_opt) / f_opt, warned))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--problems", nargs="+", default=None)
    parser.add_argument("--tols", nargs="+", type=float, default=TOLS)
    args = parser.parse_args(argv)
    table = problems(args.quick)
    print("| problem | " + " | ".join(f"tol={t:g}" for t in args.tols) + " |")
    print("|---" * (len(args.tols) + 1) + "|")
    for name in args.problems or list(table):
        X, y = table[name][1]()
        f_opt = reference_optimum(name, X, y, args.quick)
        cells = [f"{it} it, {gap:.1e}{' (warned)' if warned else ''}"
                 for _, it, gap, warned in sweep(X, y, f_opt, args.tols)]
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
