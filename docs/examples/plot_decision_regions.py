"""
=====================================
Decision regions of a softmax model
=====================================

A softmax classifier on two features and three classes. The logits are linear
in ``x``, so the boundary between any two classes is a straight line, and the
three boundaries meet in one point. The colour intensity shows the
probability of the predicted class: :math:`1/3` at the triple point, close to
1 far from the boundaries.

Stronger regularization (smaller ``C``) shrinks the coefficients: the
probabilities change slowly with ``x`` and the model is less confident
everywhere.
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import to_rgba_array
from sklearn.datasets import make_blobs

from sksoftmax import SoftmaxClassifier

X, y = make_blobs(
    n_samples=300, centers=[(-2, -1), (2, -1), (0, 2.5)], cluster_std=1.4,
    random_state=0,
)

# %%
# Fit with three values of ``C`` and draw the regions on a grid.
colors = np.array(["tab:blue", "tab:orange", "tab:green"])
xx, yy = np.meshgrid(np.linspace(-6.5, 6.5, 300), np.linspace(-5.5, 7, 300))
grid = np.c_[xx.ravel(), yy.ravel()]

fig, axes = plt.subplots(1, 3, figsize=(13, 4.3), sharey=True)
for ax, C in zip(axes, [0.001, 0.05, 10.0], strict=True):
    clf = SoftmaxClassifier(C=C).fit(X, y)
    proba = clf.predict_proba(grid)
    label = proba.argmax(axis=1).reshape(xx.shape)
    confidence = proba.max(axis=1).reshape(xx.shape)
    # Colour of the predicted class, more opaque where it is more probable.
    image = to_rgba_array(colors[label.ravel()]).reshape(*xx.shape, 4)
    image[..., 3] = 0.1 + 0.6 * (confidence - 1 / 3) / (2 / 3)
    ax.imshow(image, origin="lower", extent=(xx.min(), xx.max(), yy.min(),
                                             yy.max()), aspect="auto")
    ax.contour(xx, yy, label, levels=[0.5, 1.5], colors="k", linewidths=0.8)
    cs = ax.contour(xx, yy, confidence, levels=[0.5, 0.9], colors="grey",
                    linestyles=[":", "--"], linewidths=0.8)
    ax.clabel(cs, fmt={0.5: "p=0.5", 0.9: "p=0.9"}, fontsize=8)
    ax.scatter(X[:, 0], X[:, 1], c=colors[y], s=12, edgecolor="k", linewidth=0.3)
    ax.set_title(f"C={C:g}: accuracy {clf.score(X, y):.2f}, "
                 f"||W||={np.linalg.norm(clf.coef_):.2f}")
    ax.set_xlabel("feature 0")
axes[0].set_ylabel("feature 1")
fig.suptitle("SoftmaxClassifier: decision regions and predicted-class probability")
fig.tight_layout()
plt.show()

# %%
# The rows of ``coef_`` are one weight vector per class. The boundary between
# classes ``j`` and ``k`` is where their logits are equal:
# ``(w_j - w_k) . x + (b_j - b_k) = 0``.
clf = SoftmaxClassifier(C=10.0).fit(X, y)
print("coef_ =\n", clf.coef_.round(3))
print("intercept_ =", clf.intercept_.round(3), "(sums to zero)")

# sphinx_gallery_thumbnail_path = "_build/panels/decision_regions_1_2.png"
