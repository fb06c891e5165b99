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
    """Row-wise ``log(sum(exp(Z)))`` of logits ``Z`` (m, K) in namespace ``xp``.

    Without overflow; shape ``(m,)``, in the dtype of ``Z``.
    """
    zmax = xp.max(Z, axis=1, keepdims=True)
    lse = xp.log(xp.sum(xp.exp(Z - zmax), axis=1))
    return lse + zmax[:, 0]


def log_softmax(Z, xp=np):
    """Row-wise log-softmax ``Z - logsumexp(Z)``: finite for any finite ``Z``."""
    return Z - logsumexp_rows(Z, xp)[:, None]


def softmax(Z, xp=np):
    """Row-wise softmax ``exp(Z - logsumexp(Z))``: nonnegative rows that sum to one."""
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
    if xp is not np:
        Z = X @ coef.T
        return _block_loss_grad_xp(X, Z, targets, sample_weight, intercept, xp)
    # Class-major logits, shape (K, m): the per-class and per-sample updates
    # below then run along rows of m values instead of K, which NumPy
    # vectorizes. Measured per block against the sample-major layout (one
    # thread): 0.78x on 20,000 x 50 with 5 classes, 0.94x on 10,485 x 100
    # with 10, 1.0x with 100 classes. OpenBLAS's float32 product is faster
    # sample-major (0.46 against 0.60 ms), so float32 logits are computed so
    # and transposed (0.92x in all); for sparse X the product comes
    # sample-major and its transpose stays a view (copying cost more than
    # the layout saved).
    if sp.issparse(X):
        ZT = (X @ coef.T).T
    elif X.dtype == np.float32:
        ZT = np.ascontiguousarray((X @ coef.T).T)
    else:
        ZT = coef @ X.T
    if intercept is not None:
        ZT += intercept[:, None]
    loss_sum, RT = _residual_inplace(ZT, targets, sample_weight, label_smoothing)
    # ZT now holds R.T = (s (P - T)).T. Both reductions over samples are BLAS
    # products: much faster than NumPy's reductions along the short class axis.
    grad_coef = (X.T @ RT.T).T if sp.issparse(X) else RT @ X
    grad_intercept = RT @ np.ones(RT.shape[1], dtype=RT.dtype)
    return loss_sum, grad_coef, grad_intercept


def _residual_inplace(ZT, targets, sample_weight, label_smoothing):
    """Loss sum and ``R.T = (s (P - T)).T``, written over the logits ``ZT``.

    ``ZT`` has shape (K, m), in either memory order. The only temporaries are
    vectors of length ``m``: the logits are exponentiated, normalized and
    weighted in place.
    """
    n_classes, m = ZT.shape
    bound = _NO_SHIFT_BOUND.get(ZT.dtype, 0.0)
    if m and not (-bound < ZT.min() and ZT.max() < bound):
        # Shift each sample by its maximum: exp never overflows and, since
        # target rows sum to one, CE = log(sum(exp(z'))) - t . z' for the
        # shifted z'.
        ZT -= ZT.max(axis=0)
    ones = np.ones(n_classes, dtype=ZT.dtype)
    if targets.ndim == 1:
        # Flat positions of the targets in ZT's memory (C or F order).
        memory = ZT.reshape(-1, order="A")
        class_step, sample_step = (st // ZT.itemsize for st in ZT.strides)
        target = targets * class_step + np.arange(m) * sample_step
        target_dot_z = memory.take(target)
        if label_smoothing:
            target_dot_z = (1.0 - label_smoothing) * target_dot_z + (
                label_smoothing / n_classes
            ) * (ones @ ZT)
    else:
        target_dot_z = np.einsum("ij,ji->i", targets, ZT)
    np.exp(ZT, out=ZT)
    sum_exp = ones @ ZT
    ce = np.log(sum_exp)
    ce -= target_dot_z
    # NumPy's pairwise sum, not a BLAS dot: OpenBLAS splits a long dot over
    # its threads, and a limit on them set from a non-main thread may not
    # hold, so the bits would depend on the thread the fit runs in.
    ce = ce.astype(np.float64, copy=False)
    ce *= sample_weight
    loss_sum = float(np.sum(ce))
    if targets.ndim == 1:
        # R = s P - s T with T the (smoothed) one-hot rows.
        ZT *= sample_weight / sum_exp
        memory[target] -= (1.0 - label_smoothing) * sample_weight
        if label_smoothing:
            ZT -= (label_smoothing / n_classes) * sample_weight
    else:
        ZT *= 1.0 / sum_exp
        ZT -= targets.T
        ZT *= sample_weight
    return loss_sum, ZT


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
