"""
===========================================================
Convergence on unscaled data: ``loss_curve_`` against lbfgs
===========================================================

:class:`~sksoftmax.SoftmaxClassifier` and scikit-learn's
:class:`~sklearn.linear_model.LogisticRegression` (``solver="lbfgs"``)
minimize the same objective for three or more classes,

.. math::

   f(W, b) = \\text{mean cross-entropy} + \\frac{\\lVert W \\rVert^2}{2 C n},

with the same L-BFGS from SciPy. They differ in the coordinates the solver
works in: sksoftmax optimizes over centred and scaled features and maps the
result back (the objective, and its minimizer, are unchanged; see
:ref:`conditioning`). On the wine data, whose columns range from 0.1 to 1680,
this is the difference between converging in a few dozen iterations and
stopping at ``max_iter`` far from the optimum.

``loss_curve_`` holds sksoftmax's objective after every iteration. For
``LogisticRegression`` we refit with ``max_iter=k`` for increasing ``k``
(L-BFGS is deterministic, so the ``k``-th fit stops at the ``k``-th iterate)
and evaluate the same objective on its coefficients.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

from sksoftmax import SoftmaxClassifier

X, y = load_wine(return_X_y=True)
C = 1.0
print("column scales (std):", X.std(axis=0).min().round(3), "to",
      X.std(axis=0).max().round(1))


def objective(model):
    """Mean cross-entropy plus the L2 penalty, for any fitted linear model."""
    penalty = np.sum(model.coef_**2) / (2 * C * len(y))
    return log_loss(y, model.predict_proba(X)) + penalty


# %%
# sksoftmax: one fit, the whole curve.
clf = SoftmaxClassifier(C=C, tol=1e-8, max_iter=500).fit(X, y)
print(f"SoftmaxClassifier: {clf.n_iter_} iterations, objective {clf.loss_:.6f}")

# With tol=1e-8 this is the optimum f* to about 1e-12 (a LogisticRegression
# run of 20,000 iterations reaches the same value to six digits).
f_star = clf.loss_

# %%
# LogisticRegression: one fit per point of the curve.
iterations = np.unique(np.r_[np.geomspace(1, 300, 18).astype(int), 100])
lr_curve = []
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    for k in iterations:
        lr = LogisticRegression(C=C, max_iter=int(k)).fit(X, y)
        lr_curve.append(objective(lr))
lr_default = lr_curve[np.flatnonzero(iterations == 100)[0]]
print(f"LogisticRegression(max_iter=100): objective {lr_default:.6f}, "
      f"{(lr_default - f_star) / f_star:.0%} above the optimum")

# %%
# The gap to the optimum, on a log scale.
fig, ax = plt.subplots(figsize=(7, 4.5))
sm_gap = np.maximum(np.asarray(clf.loss_curve_) - f_star, 1e-13)
ax.semilogy(np.arange(1, len(sm_gap) + 1), sm_gap, "o-", ms=3,
            label="SoftmaxClassifier (loss_curve_)")
ax.semilogy(iterations, np.maximum(np.asarray(lr_curve) - f_star, 1e-13), "s-",
            ms=3, label='LogisticRegression(solver="lbfgs")')
ax.axvline(100, color="grey", ls=":", lw=1)
ax.text(103, ax.get_ylim()[1] * 0.3, "default max_iter", color="grey")
ax.set_xscale("log")
ax.set_xlabel("L-BFGS iteration")
ax.set_ylabel("objective - optimum")
ax.set_title(f"Wine data, unscaled, C={C:g}")
ax.legend()
fig.tight_layout()
plt.show()
