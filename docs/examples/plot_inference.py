"""
==========================================
Confidence intervals for the coefficients
==========================================

:func:`sksoftmax.inference` turns a fitted
:class:`~sksoftmax.SoftmaxClassifier` into statsmodels-style inference:
standard errors, z-values, p-values and confidence intervals of the
*contrasts* ``coef[k] - coef[ref]`` against a reference class (the
symmetric coefficients themselves are not identifiable without a penalty;
see the :ref:`User Guide <inference>`).

We fit the wine data (178 wines from three cultivars, chemical
measurements, standardized) and draw each contrast with its 95% interval,
for the maximum-likelihood fit and for a penalized fit whose intervals are
conditional on the penalty.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_wine
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sksoftmax import SoftmaxClassifier, inference

wine = load_wine(as_frame=True)
X, y = wine.data, wine.target

# %%
# Separable data: no maximum-likelihood estimate
# ----------------------------------------------
# With all 13 measurements the three cultivars are linearly separable: the
# unpenalized likelihood keeps increasing as the coefficients grow, and the
# estimate the solver stops at is arbitrary. :func:`~sksoftmax.inference`
# detects the separating direction and reports NaN, with a warning, instead
# of huge meaningless standard errors.

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    clf = make_pipeline(StandardScaler(), SoftmaxClassifier(C=np.inf)).fit(X, y)
    separated = inference(clf, X, y)
print(caught[-1].message)
print("finite standard errors:", int(np.isfinite(separated.bse.to_numpy()).sum()))

# %%
# Five measurements do not separate the cultivars, and the estimate exists.

columns = ["alcohol", "malic_acid", "ash", "alcalinity_of_ash",
           "nonflavanoid_phenols"]
X = X[columns]

# %%
# The unpenalized fit and its summary
# -----------------------------------
# A pipeline is accepted: ``X`` goes through the scaler first, and the
# variables are the scaler's outputs (standardized measurements). The fit's
# default ``tol`` is enough: ``inference`` polishes the fitted coefficients
# with Newton steps to the maximum-likelihood estimate before computing
# anything.

mle = make_pipeline(StandardScaler(), SoftmaxClassifier(C=np.inf)).fit(X, y)
res = inference(mle, X, y)
print(res.summary())

# %%
# A penalized fit
# ---------------
# With ``C=0.05`` (on 178 samples: a strong penalty) the estimates shrink
# towards zero; the intervals are those of the penalized Hessian.

ridge = make_pipeline(StandardScaler(), SoftmaxClassifier(C=0.05)).fit(X, y)
res_ridge = inference(ridge, X, y)

# %%
# Estimates with 95% intervals, per class
# ---------------------------------------
# One panel per non-reference class (cultivar 1 and 2 against cultivar 0);
# a contrast whose interval excludes zero has a p-value below 0.05.

fig, axes = plt.subplots(1, len(res.classes), figsize=(10, 4.5), sharey=True)
rows = np.arange(len(res.names))
for a, ax in enumerate(axes):
    for r, offset, color, label in [(res, -0.15, "C0", "C=inf (MLE)"),
                                    (res_ridge, 0.15, "C1", "C=0.05")]:
        # X is a DataFrame, so the results are labelled frames.
        est = r.params.iloc[:, a].to_numpy()
        ci = r.conf_int(0.05).loc[r.classes[a]].to_numpy()
        ax.errorbar(est, rows + offset, xerr=[est - ci[:, 0], ci[:, 1] - est],
                    fmt="o", color=color, capsize=3, label=label)
    ax.axvline(0, color="grey", lw=1)
    ax.set_title(f"cultivar {res.classes[a]} vs {res.reference_class}")
    ax.set_xlabel("contrast (per standard deviation)")
axes[0].set_yticks(rows, res.names)
axes[0].invert_yaxis()
# The legend goes below the panels, where it hides no bar.
handles, labels = axes[0].get_legend_handles_labels()
fig.legend(handles, labels, loc="lower center", ncol=2)
fig.tight_layout(rect=(0, 0.08, 1, 1))
plt.show()

# %%
# The same numbers as a table
# ---------------------------
# ``summary().to_frame()`` gives a pandas DataFrame indexed by
# (class, variable); ``to_string()`` prints every column, the intervals
# included.

print(res.summary().to_frame().round(3).to_string())

# sphinx_gallery_thumbnail_path = "_build/panels/inference_1_1.png"
