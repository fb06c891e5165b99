"""
==========================================
Label smoothing and calibration
==========================================

A classifier is *calibrated* when, among the samples it predicts with
confidence 0.8, about 80% are right. A model fitted with little regularization
on few samples and many features tends to be over-confident: the training
labels can almost be separated, and the fitted logits grow.

``label_smoothing=eps`` replaces each one-hot target by
``(1 - eps) * onehot + eps / n_classes``, so the fit no longer asks for
probabilities of exactly 1. Here we fit :class:`~sksoftmax.SoftmaxClassifier`
on 300 noisy samples with 60 features (10 informative) and 4 classes, and
draw reliability diagrams of the predicted class's probability on 3,700 test
samples.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_classification
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split

from sksoftmax import SoftmaxClassifier

X, y = make_classification(
    n_samples=4000, n_features=60, n_informative=10, n_redundant=0,
    n_classes=4, n_clusters_per_class=1, flip_y=0.05, random_state=0,
)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, train_size=300, stratify=y, random_state=0
)
edges = np.linspace(0, 1, 11)


def reliability(proba, y_true):
    """Mean confidence and accuracy per confidence bin, and the calibration error.

    The expected calibration error (ECE) is the bin-size-weighted mean of
    ``|accuracy - confidence|``.
    """
    confidence = proba.max(axis=1)
    correct = proba.argmax(axis=1) == y_true
    bins = np.clip(np.digitize(confidence, edges[1:-1]), 0, len(edges) - 2)
    conf, acc, ece = [], [], 0.0
    for b in range(len(edges) - 1):
        in_bin = bins == b
        if in_bin.any():
            conf.append(confidence[in_bin].mean())
            acc.append(correct[in_bin].mean())
            ece += in_bin.mean() * abs(acc[-1] - conf[-1])
    return np.array(conf), np.array(acc), ece


# %%
# Fit with increasing smoothing and weak regularization (``C=100``); keep the
# test probabilities of every fit.
eps_values = [0.0, 0.025, 0.05, 0.1, 0.2, 0.3, 0.4]
probas = {
    eps: SoftmaxClassifier(C=100.0, label_smoothing=eps)
    .fit(X_train, y_train)
    .predict_proba(X_test)
    for eps in eps_values
}
scores = np.array([
    (log_loss(y_test, p), reliability(p, y_test)[2],
     np.mean(p.argmax(axis=1) == y_test))
    for p in probas.values()
])

# %%
# Left: reliability diagrams for three amounts of smoothing. Right: test
# log-loss, calibration error and accuracy as the smoothing grows.
fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
ax = axes[0]
ax.plot([0, 1], [0, 1], color="grey", ls=":", label="perfectly calibrated")
for eps in [0.0, 0.1, 0.4]:
    conf, acc, ece = reliability(probas[eps], y_test)
    ax.plot(conf, acc, "o-", label=f"label_smoothing={eps:g}: ECE {ece:.3f}")
ax.set_xlabel("confidence (probability of the predicted class)")
ax.set_ylabel("accuracy")
ax.set_title("Reliability diagram, C=100")
ax.legend(fontsize=8)
ax = axes[1]
ax.plot(eps_values, scores[:, 0], "o-", label="test log-loss")
ax.plot(eps_values, scores[:, 1], "s-", label="calibration error (ECE)")
ax.plot(eps_values, scores[:, 2], "^-", label="test accuracy")
ax.set_xlabel("label_smoothing")
ax.set_title("Test metrics, C=100")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

for eps, (loss, ece, acc) in zip(eps_values, scores, strict=True):
    print(f"label_smoothing={eps:<5g} log-loss {loss:.3f}  ECE {ece:.3f}  "
          f"accuracy {acc:.3f}")

# %%
# Without smoothing the model says 90% on average but is right 63% of the
# time. A little smoothing fixes most of that and also improves the log-loss;
# too much makes the model under-confident (the curve rises above the
# diagonal), because the targets themselves then say "at most
# ``1 - eps + eps / n_classes``". Smoothing is one knob, stronger L2
# regularization (smaller ``C``) another; choose either by cross-validated
# log-loss, e.g. ``GridSearchCV(SoftmaxClassifier(), {"label_smoothing": [...]},
# scoring="neg_log_loss")``. For a model that is already fitted,
# :class:`~sklearn.calibration.CalibratedClassifierCV` post-processes the
# probabilities instead.

# sphinx_gallery_thumbnail_path = "_build/panels/label_smoothing_calibration_1_1.png"
