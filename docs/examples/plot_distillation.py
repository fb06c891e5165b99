"""
==============================================
Knowledge distillation with soft targets
==============================================

A *teacher*, here an RBF support vector machine with calibrated
probabilities, is accurate but expensive to run. A *student*, a linear
:class:`~sksoftmax.SoftmaxClassifier`, is cheap. Distillation fits the student
to the teacher's predicted probabilities instead of the labels: ``fit(X, P)``
with ``P = teacher.predict_proba(X)``, a matrix whose rows sum to one.

The soft targets carry more than the label: how sure the teacher is, and
which other digits an image resembles. We compare, for training sets of
increasing size, a student fitted on the true labels with one fitted on the
teacher's probabilities, on the digits data (raw pixel values).
"""


import matplotlib.pyplot as plt
import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import load_digits
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import GridSearchCV, KFold, train_test_split
from sklearn.svm import SVC

from sksoftmax import SoftmaxClassifier, cross_val_predict_proba, soft_log_loss_scorer

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.4, stratify=y, random_state=0
)

# %%
# The teacher, trained once on the whole training set.
teacher = CalibratedClassifierCV(SVC(gamma=0.001), ensemble=False).fit(
    X_train, y_train
)
P_train = teacher.predict_proba(X_train)
print(f"teacher: test accuracy {teacher.score(X_test, y_test):.3f}, "
      f"test log-loss {log_loss(y_test, teacher.predict_proba(X_test)):.3f}")
print("the teacher's probabilities for the first training image:")
print(P_train[0].round(3), "label", y_train[0])

# %%
# Students on subsets of the training set, with the same regularization:
# fitted on the true labels, on the teacher's predicted labels, or on the
# teacher's probabilities. Besides accuracy we measure how closely each
# student imitates the teacher on the test set: the mean Kullback-Leibler
# divergence ``KL(teacher || student)``.
P_test = teacher.predict_proba(X_test)


def kl_to_teacher(proba):
    """Mean KL divergence from the teacher's test probabilities to ``proba``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(P_test > 0, P_test * np.log(P_test / proba), 0.0)
    return terms.sum(axis=1).mean()


sizes = [60, 150, 400, len(y_train)]
targets = {
    "true labels": y_train,
    "teacher's labels": teacher.predict(X_train),
    "teacher's probabilities": P_train,
}
results = {name: [] for name in targets}
for n in sizes:
    if n < len(y_train):
        idx, _ = train_test_split(np.arange(len(y_train)), train_size=n,
                                  stratify=y_train, random_state=0)
    else:
        idx = np.arange(n)
    for name, target in targets.items():
        student = SoftmaxClassifier(C=0.1, max_iter=1000)
        proba = student.fit(X_train[idx], target[idx]).predict_proba(X_test)
        results[name].append((accuracy_score(y_test, proba.argmax(axis=1)),
                              kl_to_teacher(proba)))

print(f"{'n':>5}  {'student on':<24} {'accuracy':>9} {'KL(teacher||student)':>21}")
for i, n in enumerate(sizes):
    for name, rows in results.items():
        print(f"{n:>5}  {name:<24} {rows[i][0]:>9.3f} {rows[i][1]:>21.3f}")

# %%
# With soft targets ``classes_`` is ``np.arange(n_classes)``, the columns of
# ``P``; here they are the digits 0..9, so predictions are digits as well.
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for name, rows in results.items():
    rows = np.array(rows)
    axes[0].plot(sizes, rows[:, 0], "o-", label=f"student on {name}")
    axes[1].plot(sizes, rows[:, 1], "o-", label=f"student on {name}")
axes[0].axhline(teacher.score(X_test, y_test), color="k", ls="--", label="teacher")
titles = ["test accuracy", "KL(teacher || student) on the test set"]
for ax, title in zip(axes, titles, strict=True):
    ax.set_xscale("log")
    ax.set_xticks(sizes, [str(n) for n in sizes])
    ax.set_xlabel("training samples")
    ax.set_title(title)
    ax.legend(fontsize=8)
axes[1].set_yscale("log")
fig.suptitle("Linear SoftmaxClassifier students of an RBF-SVM teacher (digits)")
fig.tight_layout()
plt.show()

# %%
# Fitting the teacher's probabilities makes the student imitate the teacher
# most closely (the divergence on the right is the quantity the soft-target
# fit minimizes, on the training data). The labels still carry information a
# linear student can use: with many samples the student of the true labels is
# the more accurate one, while with few labels the soft targets, which say
# something about every class for every image, help. ``P`` needs no labels,
# so a teacher can also label extra, unlabeled images for the student.

# %%
# Choosing C with soft targets
# ----------------------------
#
# ``C=0.1`` above was a guess. Cross-validation chooses it with the soft
# targets themselves, no labels needed: the scorer
# :data:`~sksoftmax.soft_log_loss_scorer` is the held-out cross-entropy to the
# teacher (the fit's own loss, i.e. the divergence from the teacher plus a
# constant), and ``score(X, P)``, the default, is the expected accuracy
# ``mean_i P[i, predicted class]``. A 2-D ``y`` is split by ``KFold``;
# shuffle it, since scikit-learn's stratified splitters accept labels only.
folds = KFold(n_splits=5, shuffle=True, random_state=0)
search = GridSearchCV(
    SoftmaxClassifier(max_iter=1000), {"C": np.logspace(-4, 1, 6)}, cv=folds,
    scoring={"soft_log_loss": soft_log_loss_scorer,
             "expected_accuracy": lambda est, X, P: est.score(X, P)},
    refit="soft_log_loss",
).fit(X_train, P_train)
cv = search.cv_results_
print(f"{'C':>8} {'held-out soft log-loss':>23} {'expected accuracy':>18}")
for C, loss, acc in zip(cv["param_C"], cv["mean_test_soft_log_loss"],
                        cv["mean_test_expected_accuracy"], strict=True):
    print(f"{C:>8g} {-loss:>23.4f} {acc:>18.4f}")
best = search.best_estimator_
print(f"chosen C={search.best_params_['C']:g}: test accuracy "
      f"{best.score(X_test, y_test):.3f}, KL(teacher || student) "
      f"{kl_to_teacher(best.predict_proba(X_test)):.3f}")

# %%
# Out-of-fold probabilities at the chosen ``C`` (each training image predicted
# by a student that did not see it) come from
# :func:`~sksoftmax.cross_val_predict_proba`. scikit-learn's
# ``cross_val_predict(method="predict_proba")`` would not do: it replaces each
# column of a 2-D ``y`` by integer codes before fitting.
oof = cross_val_predict_proba(SoftmaxClassifier(C=search.best_params_["C"],
                                                max_iter=1000),
                              X_train, P_train, cv=folds)
print(f"out-of-fold agreement with the teacher's labels: "
      f"{np.mean(oof.argmax(axis=1) == P_train.argmax(axis=1)):.3f}")

# %%
# The cross-validated ``C`` is smaller than the guess: on these 64 raw pixels
# a more regularized student imitates the teacher better on images it has not
# seen, and is also more accurate on the test labels it never used.

# sphinx_gallery_thumbnail_path = "_build/panels/distillation_1_1.png"
