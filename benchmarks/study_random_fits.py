"""Study: default fits of random problems, with the Hessian after 100
iterations and without it.

Draws ``--problems`` random dense problems per seed: 50 to 1,500 rows, 2 to
40 columns with scales from 1e-2 to 1e3 and offsets, 2 to 7 classes from a
noisy linear model, ``C`` in {1e-2, 1, 1e2, 1e4}, with or without intercept
and sample weights. Each is fitted by ``SoftmaxClassifier`` at its defaults
as shipped and with the Hessian switched off (``_fitter._HESSIAN_AFTER``
past ``max_iter``), and the gap ``(f - f*) / f*`` is taken against the lower
objective of two ``tol=1e-12`` fits (with and without the Hessian), as the
stopping rule reads it: ``(f - f*) / max(f*, 1e-4)`` (below a loss of 1e-4
the rule bounds the absolute gap by ``tol * 1e-4``). No
timing: iterations, gaps and ``ConvergenceWarning`` counts only, so the
numbers do not depend on the machine's load.

Run from the repository root (a minute a seed)::

    python benchmarks/study_random_fits.py --seeds 0 1
"""

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import sksoftmax._fitter as fitter_module
from sksoftmax import SoftmaxClassifier
from sksoftmax._solver import _LOSS_FLOOR as LOSS_FLOOR


def draw(rng):
    """``(X, y, sample_weight, C, fit_intercept)`` of one random problem."""
    n, d, K = (int(rng.integers(50, 1500)), int(rng.integers(2, 40)),
               int(rng.integers(2, 8)))
    X = (rng.normal(size=(n, d)) * 10 ** rng.uniform(-2, 3, d)
         + rng.normal(size=d) * 10 ** rng.uniform(-1, 3, d))
    W = rng.normal(size=(K, d)) / (np.abs(X).mean(0) + 1e-9) * rng.uniform(0.5, 5)
    noise = rng.gumbel(size=(n, K)) * rng.uniform(0.1, 2)
    y = np.argmax(X @ W.T + noise, axis=1)
    C = float(rng.choice([1e-2, 1.0, 1e2, 1e4]))
    fit_intercept = bool(rng.random() < 0.8)
    sw = rng.uniform(0, 3, n) if rng.random() < 0.5 else None
    return X, y, sw, C, fit_intercept


def fit(X, y, sw, hessian, **params):
    """``(model, warned)``, with the Hessian after 100 iterations or never."""
    before = fitter_module._HESSIAN_AFTER
    fitter_module._HESSIAN_AFTER = before if hessian else 10**9
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            model = SoftmaxClassifier(**params).fit(X, y, sample_weight=sw)
    finally:
        fitter_module._HESSIAN_AFTER = before
    return model, any(issubclass(w.category, ConvergenceWarning)
                      for w in caught)


def objective(X, y, sw, C):
    """The weighted objective of a fitted model, in float64."""
    codes = np.searchsorted(np.unique(y), y)
    w = np.ones(len(y)) if sw is None else sw

    def value(model):
        Z = X @ model.coef_.T + model.intercept_
        Z = Z - Z.max(axis=1, keepdims=True)
        log_p = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
        data = -np.sum(w * log_p[np.arange(len(y)), codes]) / w.sum()
        return data + np.sum(model.coef_**2) / (2 * C * w.sum())

    return value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--problems", type=int, default=40)
    args = parser.parse_args(argv)
    rows = []
    for seed in args.seeds:
        rng = np.random.default_rng(seed)
        for _ in range(args.problems):
            X, y, sw, C, fit_intercept = draw(rng)
            if len(np.unique(y)) < 2:
                continue
            params = {"C": C, "fit_intercept": fit_intercept}
            ours, warned = fit(X, y, sw, True, **params)
            plain, plain_warned = fit(X, y, sw, False, **params)
            value = objective(X, y, sw, C)
            f_opt = min(value(fit(X, y, sw, h, tol=1e-12, max_iter=m, **params)[0])
                        for h, m in ((True, 5000), (False, 20_000)))
            # The rule's bound: tol * max(f, 1e-4) (the loss floor of
            # sksoftmax._solver.meets_tol), here as a multiple of f*.
            scale = max(f_opt, LOSS_FLOOR)
            rows.append((ours.n_iter_, plain.n_iter_,
                         (value(ours) - f_opt) / scale,
                         (value(plain) - f_opt) / scale, warned, plain_warned))
    rows = np.array(rows, dtype=float)
    tol = SoftmaxClassifier().tol
    past = rows[:, 0] >= 100
    for label, it, gap, warned in (("with the Hessian", 0, 2, 4),
                                   ("without", 1, 3, 5)):
        print(f"{label}: {int(rows[:, warned].sum())} of {len(rows)} warned; "
              f"gap > tol={tol:g} in {int(np.sum(rows[:, gap] > tol))} "
              f"({int(np.sum((rows[:, gap] > tol) & (rows[:, warned] == 0)))} "
              f"silently), largest {rows[:, gap].max():.1e}; "
              f"{int(rows[past, it].sum())} iterations on the {int(past.sum())} "
              "problems past 100")


if __name__ == "__main__":
    main()
