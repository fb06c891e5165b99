"""
==============================================
Choosing C by cross-validation along a path
==============================================

:class:`~sksoftmax.SoftmaxClassifierCV` fits every fold along a grid of ``C``
derived from the data, from strong to weak regularization, each fit
warm-started from the previous one, and scores each on the held-out samples
(negative log-loss by default).

Here, on the breast cancer data bundled with scikit-learn (standardized), we
plot the mean held-out log-loss over 10 folds against ``C``, with one
standard error (as R's ``cv.glmnet`` defines it) around it, and mark the two
choices: the best mean score (``selection="best"``) and the most regularized
``C`` within one standard error of it (``selection="1se"``).
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

from sksoftmax import SoftmaxClassifierCV

X, y = load_breast_cancer(return_X_y=True)
X = StandardScaler().fit_transform(X)
folds = list(StratifiedKFold(10, shuffle=True, random_state=0).split(X, y))

best = SoftmaxClassifierCV(Cs=20, cv=folds).fit(X, y)
one_se = SoftmaxClassifierCV(Cs=20, cv=folds, selection="1se").fit(X, y)

scores = best.scores_[:, 0, :]  # (n_folds, n_cs)
mean = scores.mean(axis=0)
se = scores.std(axis=0) / np.sqrt(len(folds) - 1)
Cs = best.Cs_[0]  # the grid of the (only) l1_ratio
print(f"grid: {Cs[0]:.2e} .. {Cs[-1]:.2e}")
print(f"best C = {best.C_:.3g}, 1-SE C = {one_se.C_:.3g}")
print(f"L-BFGS iterations over all folds and Cs: {best.n_iter_.sum()}")

fig, ax = plt.subplots(figsize=(7, 4.5))
ax.fill_between(Cs, -(mean - se), -(mean + se), alpha=0.25,
                label="mean ± 1 standard error")
ax.plot(Cs, -mean, "o-", ms=4, label="mean held-out log-loss")
i = int(np.argmax(mean))
ax.axhline(-(mean[i] - se[i]), color="gray", ls=":", lw=1,
           label="best mean + 1 SE")
ax.axvline(best.C_, color="C3", ls="--", label=f"best: C = {best.C_:.3g}")
ax.axvline(one_se.C_, color="C2", ls="--", label=f"1-SE rule: C = {one_se.C_:.3g}")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("C (inverse regularization strength)")
ax.set_ylabel("held-out log-loss (10 folds)")
ax.set_title("SoftmaxClassifierCV on breast cancer (standardized)")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
