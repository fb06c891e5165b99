"""Study: does one Newton step give a path point's held-out score exactly?

``SoftmaxClassifierCV`` solves each point of its path in tolerance stages
until two stages' held-out log-losses agree (``sksoftmax/_path_tol.py``);
the stages after the first are about 40-50% of a digits path's iterations.
This records, for fold 1 of ``bench_cv.py``'s digits setup (10 Cs, 1e-4 to
1e4), each stage's tolerance and iterations, and the relative error of its
held-out log-loss against a ``tol=1e-10`` fit: as it is (``true``), as one
exact Newton step on the training objective predicts it (``newton-est``:
the change of the score along the step), and after that step
(``after-newton``). The Hessian is formed densely (650 x 650 on digits): a
study of the idea, not an implementation.

Run from the repository root::

    python benchmarks/study_newton_score.py raw
    python benchmarks/study_newton_score.py std
"""
import sys
import warnings
from pathlib import Path

import numpy as np
from scipy.special import softmax
from sklearn.datasets import load_digits
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import sksoftmax._cv as cvm
from sksoftmax import SoftmaxClassifier

warnings.simplefilter("ignore")

X, y = load_digits(return_X_y=True)
if sys.argv[1] == "std":
    X = StandardScaler().fit_transform(X)
Cs = np.logspace(-4, 4, 10)
folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y))[:1]
tr, te = folds[0]
Xtr, ytr, Xte, yte = X[tr], y[tr], X[te], y[te]
(n, d), k = Xtr.shape, 10
Y = np.eye(k)[ytr]
A = np.hstack([Xtr, np.ones((n, 1))])   # (n, d+1)

def newton_step(W, b, C):
    Z = A @ np.vstack([W.T, b])           # (n, k)
    P = softmax(Z, axis=1)
    G = A.T @ (P - Y) / n                 # (d+1, k)
    G[:d] += W.T / (C * n)
    # Hessian over vec of (d+1, k), column-major by class blocks: H[(j,c),(j',c')]
    H = np.zeros((d + 1, k, d + 1, k))
    for c in range(k):
        for c2 in range(k):
            w = P[:, c] * ((c == c2) - P[:, c2]) / n
            H[:, c, :, c2] = (A * w[:, None]).T @ A
    for c in range(k):
        H[np.arange(d), c, np.arange(d), c] += 1 / (C * n)
    Hm = H.reshape((d + 1) * k, (d + 1) * k)
    step = -np.linalg.lstsq(Hm, G.reshape(-1), rcond=None)[0].reshape(d + 1, k)
    return W + step[:d].T, b + step[d]

def score(W, b):
    return log_loss(yte, softmax(Xte @ W.T + b, axis=1), labels=np.arange(k))

log = []
orig_solve = cvm._FoldFit.solve
def solve(self, C, init, tol):
    r, s = orig_solve(self, C, init, tol)
    log.append((C, tol, r.n_iter, r.coef.copy(), r.intercept.copy()))
    return r, s
cvm._FoldFit.solve = solve
cvm.SoftmaxClassifierCV(Cs=Cs, cv=folds, scoring="neg_log_loss").fit(X, y)
for C in Cs:
    ref = SoftmaxClassifier(C=C, tol=1e-10, max_iter=100000).fit(Xtr, ytr)
    s_ref = score(ref.coef_, ref.intercept_)
    out = []
    for c, tol, it, W, b in log:
        if c != C:
            continue
        s = score(W, b)
        s_newton = score(*newton_step(W, b, C))
        out.append(f"tol {tol:.0e} it {it}: true {abs(s - s_ref) / s_ref:.1e} "
                   f"newton-est {abs(s - s_newton) / s_ref:.1e} "
                   f"after-newton {abs(s_newton - s_ref) / s_ref:.1e}")
    print(f"C={C:.1e}: " + " | ".join(out), flush=True)
