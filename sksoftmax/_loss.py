"""The block kernel: softmax cross-entropy and its gradient on one row block.

This is the only place where the loss is computed. Every backend (in-memory
NumPy / SciPy sparse, Dask chunks, array-API namespaces such as PyTorch) calls
:func:`block_loss_grad` on a block of rows and sums what it returns.

Notation, for a block of ``m`` rows, ``K`` classes and ``d`` features::

    Z   = X @ W.T + b                  logits, shape (m, K)
    P   = softmax(Z)                   exp(Z - logsumexp(Z)), shape (m, K)
    CE  = logsumexp(Z) - sum_k T_k Z_k cross-entropy H(T, P) per row (rows of T
                                       sum to one)
    R   = s * (P - T)                  weighted residual, shape (m, K)

and the kernel returns ``(sum_i s_i CE_i, R.T @ X, R.sum(axis=0))``: the
block's contribution to the weighted loss sum, to the gradient with respect to
``W`` (shape (K, d)) and to the gradient with respect to ``b`` (shape (K,)).
Nothing is divided by the total weight here; the objective does that once.
"""

import numpy as np
import scipy.sparse as sp


def logsumexp_rows(Z, xp=np):
    """Row-wise ``log(sum(exp(Z)))`` without overflow, shape ``(m,)``.

    Parameters
    ----------
    Z : array of shape (m, K)
        Logits.
    xp : module, default=numpy
        Array namespace of ``Z``.

    Returns
    -------
    lse : array of shape (m,)
        ``logsumexp`` of each row, in the dtype of ``Z``.
    """
    zmax = xp.max(Z, axis=1, keepdims=True)
    lse = xp.log(xp.sum(xp.exp(Z - zmax), axis=1))
    return lse + zmax[:, 0]


def log_softmax(Z, xp=np):
    """Row-wise log-softmax ``Z - logsumexp(Z)``: finite for any finite ``Z``.

    Parameters
    ----------
    Z : array of shape (m, K)
        Logits.
    xp : module, default=numpy
        Array namespace of ``Z``.

    Returns
    -------
    log_proba : array of shape (m, K)
        Logarithm of the softmax probabilities of each row.
    """
    return Z - logsumexp_rows(Z, xp)[:, None]


def softmax(Z, xp=np):
    """Row-wise softmax, computed as ``exp(Z - logsumexp(Z))``.

    Parameters
    ----------
    Z : array of shape (m, K)
        Logits.
    xp : module, default=numpy
        Array namespace of ``Z``.

    Returns
    -------
    proba : array of shape (m, K)
        Nonnegative rows that sum to one.
    """
    return xp.exp(log_softmax(Z, xp))


def _exp_inplace(Z, xp):
    if xp is np:
        return np.exp(Z, out=Z)
    return xp.exp(Z)


def block_loss_grad(X, targets, sample_weight, coef, intercept, *,
                    label_smoothing=0.0, xp=np):
    """Weighted cross-entropy sum and its gradient on one block of rows.

    Parameters
    ----------
    X : array or scipy sparse matrix of shape (m, d)
        The block's rows. The arithmetic runs in ``X``'s dtype.
    targets : array of shape (m,) or (m, K)
        Either integer class codes in ``[0, K)`` (NumPy only) or a matrix of
        target probabilities whose rows sum to one.
    sample_weight : array of shape (m,)
        Nonnegative weight of each row; zero-weight rows contribute nothing.
    coef : array of shape (K, d)
        Coefficients ``W``, in ``X``'s dtype.
    intercept : array of shape (K,) or None
        Intercepts ``b``; None means no intercept.
    label_smoothing : float, default=0.0
        Only for integer ``targets``: the target row is
        ``(1 - eps) * onehot + eps / K`` (PyTorch's definition).
    xp : module, default=numpy
        Array namespace of the dense arrays.

    Returns
    -------
    loss_sum : float
        ``sum_i s_i CE_i``, accumulated in float64.
    grad_coef : array of shape (K, d)
        ``R.T @ X`` with ``R = s * (P - T)``.
    grad_intercept : array of shape (K,)
        ``R.sum(axis=0)``.
    """
    n_classes = coef.shape[0]
    Z = X @ coef.T
    if sp.issparse(Z):  # pragma: no cover - defensive, sparse @ dense is dense
        Z = Z.toarray()
    if intercept is not None:
        Z += intercept
    # Shift each row by its maximum: exp never overflows and, since target rows
    # sum to one, CE = log(sum(exp(Z'))) - T . Z' holds for the shifted Z'.
    Z -= xp.max(Z, axis=1, keepdims=True)
    if targets.ndim == 1:
        rows = np.arange(Z.shape[0])
        target_dot_z = Z[rows, targets]
        if label_smoothing:
            target_dot_z = (1.0 - label_smoothing) * target_dot_z + (
                label_smoothing / n_classes
            ) * Z.sum(axis=1)
    else:
        target_dot_z = xp.sum(targets * Z, axis=1)
    E = _exp_inplace(Z, xp)
    sum_exp = xp.sum(E, axis=1)
    ce = xp.log(sum_exp) - target_dot_z
    # In place: E becomes P, then the weighted residual R = s (P - T).
    E /= sum_exp[:, None]
    if targets.ndim == 1:
        E[rows, targets] -= 1.0 - label_smoothing
        if label_smoothing:
            E -= label_smoothing / n_classes
    else:
        E -= targets
    E *= sample_weight[:, None]
    loss_sum = _weighted_sum(sample_weight, ce, xp)
    if sp.issparse(X):
        grad_coef = (X.T @ E).T
    else:
        grad_coef = E.T @ X
    grad_intercept = xp.sum(E, axis=0)
    return loss_sum, grad_coef, grad_intercept


def _weighted_sum(weights, values, xp):
    """``sum_i w_i v_i`` accumulated in float64 (float32 blocks lose digits)."""
    if xp is np:
        return float(np.dot(weights.astype(np.float64, copy=False),
                            values.astype(np.float64, copy=False)))
    return float(xp.sum(weights * values))
