"""
=====================================================
L1 and elastic-net regularization path on wine
=====================================================

With ``l1_ratio > 0`` :class:`~sksoftmax.SoftmaxClassifier` adds an L1 term
to the penalty,

.. math::

   f(W, b) = \\text{mean cross-entropy}
           + \\frac{1}{C n}\\Bigl(r \\lVert W \\rVert_1
                               + \\frac{1 - r}{2} \\lVert W \\rVert^2\\Bigr),

and L-BFGS-B handles the L1 part exactly by splitting each coefficient into
two nonnegative parts (see :ref:`penalties`): coefficients that the penalty
switches off are exact zeros in ``coef_``.

We follow the path along ``C`` on the (standardized) wine data, warm
starting each fit from the previous one: the coefficients of the pure L1 fit
(``l1_ratio=1``) enter one after another as ``C`` grows, and the elastic net
(``l1_ratio=0.5``) keeps more of them at any ``C``, shrinking correlated
features together instead of picking one.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_wine
from sklearn.preprocessing import StandardScaler

from sksoftmax import SoftmaxClassifier

data = load_wine()
X = StandardScaler().fit_transform(data.data)
y = data.target
Cs = np.logspace(-2.5, 1.5, 30)

paths = {}
for l1_ratio in (1.0, 0.5):
    clf = SoftmaxClassifier(l1_ratio=l1_ratio, warm_start=True)
    coefs = []
    for C in Cs:
        clf.set_params(C=C).fit(X, y)
        coefs.append(clf.coef_.copy())
    paths[l1_ratio] = np.array(coefs)  # (n_C, n_classes, n_features)

for l1_ratio, coefs in paths.items():
    nonzero = (coefs != 0).sum(axis=(1, 2))
    print(f"l1_ratio={l1_ratio}: nonzero coefficients from {nonzero[0]} "
          f"to {nonzero[-1]} of {coefs[0].size}")

fig, axes = plt.subplots(1, 3, figsize=(12, 3.8), layout="constrained")
for ax, l1_ratio in zip(axes[:2], (1.0, 0.5), strict=True):
    coefs = paths[l1_ratio]
    colors = plt.cm.tab10(np.arange(3))
    for k in range(coefs.shape[1]):
        ax.plot(Cs, coefs[:, k, :], color=colors[k], lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("C")
    ax.set_title(f"coef_ along the path, l1_ratio={l1_ratio}")
axes[0].set_ylabel("coefficient (one line each, color = class)")
for l1_ratio, coefs in paths.items():
    axes[2].step(Cs, (coefs != 0).sum(axis=(1, 2)), where="mid",
                 label=f"l1_ratio={l1_ratio}")
axes[2].set_xscale("log")
axes[2].set_xlabel("C")
axes[2].set_ylabel("number of nonzero coefficients")
axes[2].axhline(paths[1.0][0].size, color="gray", ls=":", lw=1,
                label=f"all {paths[1.0][0].size} coefficients")
axes[2].legend()
plt.show()

# sphinx_gallery_thumbnail_path = "_build/panels/l1_path_1_1.png"
