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


# Below these magnitudes of the logits, exp neither overflows nor underflows
# to a zero row sum, so the per-row shift by the maximum (a slow short-axis
# reduction) can be skipped. float64: exp(709) is the largest finite value;
# float32: exp(88).
_NO_SHIFT_BOUND = {np.dtype(np.float64): 600.0, np.dtype(np.float32): 60.0}


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
    Z = X @ coef.T
    if sp.issparse(Z):  # pragma: no cover - defensive, sparse @ dense is dense
        Z = Z.toarray()
    if xp is not np:
        return _block_loss_grad_xp(X, Z, targets, sample_weight, intercept, xp)
    # In-place work below indexes the flattened logits: they must be C-ordered.
    Z = np.ascontiguousarray(Z)
    if intercept is not None:
        Z += intercept
    loss_sum, R = _residual_inplace(Z, targets, sample_weight, label_smoothing)
    # Z now holds R = s (P - T). Both reductions over rows are BLAS products:
    # much faster than NumPy's reductions along the short class axis.
    if sp.issparse(X):
        grad_coef = (X.T @ R).T
    else:
        grad_coef = R.T @ X
    grad_intercept = np.ones(R.shape[0], dtype=R.dtype) @ R
    return loss_sum, grad_coef, grad_intercept


def _residual_inplace(Z, targets, sample_weight, label_smoothing):
    """Loss sum and ``R = s (P - T)``, written over the logits ``Z``.

    The only temporaries are vectors of length ``m``: the logits are
    exponentiated, normalized and weighted in place.
    """
    m, n_classes = Z.shape
    bound = _NO_SHIFT_BOUND.get(Z.dtype, 0.0)
    if m and not (-bound < Z.min() and Z.max() < bound):
        # Shift each row by its maximum: exp never overflows and, since target
        # rows sum to one, CE = log(sum(exp(Z'))) - T . Z' for the shifted Z'.
        Z -= _row_max(Z)[:, None]
    ones = np.ones(n_classes, dtype=Z.dtype)
    if targets.ndim == 1:
        flat = np.arange(m) * n_classes + targets
        target_dot_z = Z.reshape(-1).take(flat)
        if label_smoothing:
            target_dot_z = (1.0 - label_smoothing) * target_dot_z + (
                label_smoothing / n_classes
            ) * (Z @ ones)
    else:
        target_dot_z = np.einsum("ij,ij->i", targets, Z)
    np.exp(Z, out=Z)
    sum_exp = Z @ ones
    ce = np.log(sum_exp)
    ce -= target_dot_z
    loss_sum = float(np.dot(sample_weight.astype(np.float64, copy=False),
                            ce.astype(np.float64, copy=False)))
    if targets.ndim == 1:
        # R = s P - s T with T the (smoothed) one-hot rows.
        Z *= (sample_weight / sum_exp)[:, None]
        Z.reshape(-1)[flat] -= (1.0 - label_smoothing) * sample_weight
        if label_smoothing:
            Z -= ((label_smoothing / n_classes) * sample_weight)[:, None]
    else:
        Z *= (1.0 / sum_exp)[:, None]
        Z -= targets
        Z *= sample_weight[:, None]
    return loss_sum, Z


def _row_max(Z):
    """Row maxima; a loop over the (few) columns beats ``Z.max(axis=1)``."""
    if Z.shape[1] > 64:
        return Z.max(axis=1)
    out = Z[:, 0].copy()
    for k in range(1, Z.shape[1]):
        np.maximum(out, Z[:, k], out=out)
    return out


def _block_loss_grad_xp(X, Z, targets, sample_weight, intercept, xp):
    """The kernel in a non-NumPy namespace: probability targets, standard ops."""
    if intercept is not None:
        Z = Z + intercept
    Z = Z - xp.max(Z, axis=1, keepdims=True)
    target_dot_z = xp.sum(targets * Z, axis=1)
    E = xp.exp(Z)
    sum_exp = xp.sum(E, axis=1)
    ce = xp.log(sum_exp) - target_dot_z
    R = (E / sum_exp[:, None] - targets) * sample_weight[:, None]
    loss_sum = float(xp.sum(sample_weight * ce))
    grad_coef = R.T @ X
    grad_intercept = xp.sum(R, axis=0)
    return loss_sum, grad_coef, grad_intercept
