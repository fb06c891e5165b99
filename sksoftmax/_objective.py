"""The objective over the whole data set, in conditioned coordinates.

The objective is scikit-learn's ``LogisticRegression(solver="lbfgs")`` one::

    f(W, b) = sum_i s_i CE_i / S + ||W||_F^2 / (2 C S),    S = sum_i s_i

with the intercept ``b`` unpenalized. L-BFGS, however, does not see ``(W, b)``:
it sees ``theta = (V, c)`` with

    W = V / sigma          b = c - W @ mu

where ``mu`` and ``sigma`` are the (weighted) column means and standard
deviations of ``X``. So ``X @ W.T + b = ((X - mu) / sigma) @ V.T + c``: the
solver works on centred, unit-variance features, and the objective (penalty
included, written in ``W``) is unchanged, hence so is its optimum. ``X - mu`` is
never formed: the kernel runs on the raw ``X`` with ``(W, b)`` and the gradient
is mapped back by the chain rule::

    grad_V = (grad_W - outer(grad_b, mu)) / sigma        grad_c = grad_b

The flat parameter vector is ``theta.reshape(K, d + 1)`` with the intercept in
the last column (``(K, d)`` without intercept).
"""

import itertools

import numpy as np
import scipy.sparse as sp

from sksoftmax._executor import current_executor
from sksoftmax._hessian import hessian_applies, rows_hessian
from sksoftmax._loss import block_loss_grad
from sksoftmax._moments import (
    block_moments,
    mean_and_variance,
    merge,
    merge_all,
    scaling_from_moments,
    sparse_moments,
)
from sksoftmax._penalty import Penalty

# Rows per block: keeps the (rows, K) logits and the kernel's temporaries
# around 8 MB (float64), so they stay cache friendly and memory beyond X is
# bounded however many rows there are.
_BLOCK_ELEMENTS = 2**20


def column_scaling(X, sample_weight, fit_intercept):
    """Weighted centre ``mu`` and scale ``sigma`` of each column, for conditioning.

    The moments of :func:`column_moments`, turned into centres and scales by
    :func:`~sksoftmax._moments.scaling_from_moments` (float64, positive and
    finite scales, 1 for constant columns). With an intercept the columns are
    centred at their weighted mean and scaled by their standard deviation;
    without one they cannot be centred (the intercept would absorb the shift),
    so ``mu = 0`` and ``sigma`` is the root mean square.
    """
    amax, mean, var = column_moments(X, sample_weight, fit_intercept)
    return scaling_from_moments(mean, var, amax, fit_intercept)


def column_moments(X, sample_weight, fit_intercept):
    """``(amax, mean, var)`` of each column of ``X / amax``; one read of ``X``.

    Weighted by ``sample_weight`` (nonnegative, positive sum); ``amax`` is the
    positive magnitude of each column (1 for all-zero columns) and
    ``fit_intercept`` as in :func:`~sksoftmax._moments.mean_and_variance`.
    The rows are split into blocks (in parallel, see
    :mod:`sksoftmax._executor`), each block gives its
    :func:`~sksoftmax._moments.block_moments`, and the blocks are merged in a
    fixed order (:func:`~sksoftmax._moments.merge`). Columns of huge or tiny
    magnitude (beyond ``1e100`` or below ``1e-100``), whose squares could
    overflow or underflow, are then computed again divided by ``amax``.
    """
    w = np.asarray(sample_weight, dtype=np.float64) / np.sum(sample_weight)
    if sp.issparse(X):
        amax, mean, var = sparse_moments(X, w, fit_intercept)
    else:
        amax, mean, var = _dense_moments(X, w, fit_intercept, scale=None)
        positive = np.where(amax > 0, amax, 1.0)
        if np.any((amax > 1e100) | (amax < 1e-100) & (amax > 0)):
            _, mean, var = _dense_moments(X, w, fit_intercept, scale=positive)
        else:
            mean, var = mean / positive, var / positive**2
    amax = np.where(amax > 0, amax, 1.0).astype(np.float64)
    return amax, mean, var


# Rows per block of the column statistics: about 2**16 values (512 KiB in
# float64), so that the deviations from the block mean are computed while the
# block is still in the core's cache.
_MOMENT_BLOCK_ELEMENTS = 2**16


def _dense_moments(X, w, fit_intercept, scale):
    """``(amax, mean, var)`` of the columns (of ``X / scale`` if given)."""
    n, d = X.shape
    if n == 0:
        return np.zeros(d), np.zeros(d), np.zeros(d)
    chunks = row_blocks(n, d, parallel=True)
    sub = max(1, _MOMENT_BLOCK_ELEMENTS // max(d, 1))

    def chunk_moments(c):
        rows = chunks[c]
        acc = None
        # Squares of huge values may overflow here (they are then computed
        # again, scaled); errstate is per thread, so it is set in each task.
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            for start in range(rows.start, rows.stop, sub):
                r = slice(start, min(start + sub, rows.stop))
                block = np.asarray(X[r], dtype=np.float64)
                if scale is not None:
                    block = block / scale
                acc = merge(acc, block_moments(block, w[r]))
        return acc

    parts = current_executor().map(chunk_moments, len(chunks))
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        # In block order: the same bits on every run.
        total = merge_all(parts)
        mean, var = mean_and_variance(total, fit_intercept)
    return total.amax, mean, var


# The data term's curvature along a centred, unit-variance column is
# p (1 - p) <= 1/4 per class at the start, and far less near the optimum of a
# well-fitted model; in those units the penalty adds l2 / sigma**2. 0.02 was
# chosen on benchmarks/bench_lbfgs.py: iterations to a 1e-5 gap went from
# about 1,000 to 160 on raw digits, 600 to 190 on sparse counts (0.25 halves
# them; 0.003 starts to slow the unscaled problem).
_DATA_CURVATURE = 0.02


def solver_scale(sigma, l2_reg_strength, curvature=_DATA_CURVATURE):
    """Scale of each column in the coordinates L-BFGS sees: at least ``sigma``.

    Dividing by ``sigma`` alone equalizes the data term, but the penalty
    ``l2 ||W||^2 / 2`` then has curvature ``l2 / sigma_j**2``: huge for
    columns that are almost constant (the rarely lit pixels of digits, rare
    words in sparse counts), and L-BFGS crawls along them. Scaling by
    ``sqrt(sigma**2 + l2 / a)`` instead, with ``a`` the data ``curvature`` per
    unit variance, equalizes the diagonal of the whole Hessian. The optimum is
    unchanged: this only moves the coordinates. ``l2_reg_strength`` is
    ``1 / (C S)``, or per column (times the penalty factors); the default
    ``a`` suits a cold start, a path knows better (:class:`CurvatureProbe`).
    """
    if not np.any(l2_reg_strength):
        return sigma
    with np.errstate(over="ignore"):  # a penalty near the float64 limit
        penalty_scale = np.sqrt(l2_reg_strength / curvature)
    if not np.all(np.isfinite(penalty_scale)):
        penalty_scale = np.sqrt(l2_reg_strength) / np.sqrt(curvature)
    # hypot: no overflow for columns of size 1e300.
    return np.hypot(sigma, penalty_scale)


# Rows of the sample that CurvatureProbe reads: an estimate of a median, not
# worth a pass over a large X.
_CURVATURE_SAMPLE = 2048
# 1/4 is the largest p (1 - p); below 1e-3 (the probabilities of a nearly
# separable fit) the penalty's part of the scale would dwarf sigma.
_CURVATURE_RANGE = (1e-3, 0.25)


class CurvatureProbe:
    """The data term's curvature per unit variance, at many points of one data set.

    The diagonal of the Hessian of the mean cross-entropy, for class ``k``
    and centred, unit-variance column ``j``, is
    ``sum_i s_i p_ik (1 - p_ik) u_ij**2 / S`` with ``u = (x - mu) / sigma``.
    Averaged over the classes, that is ``D_j = sum_i s_i q_i u_ij**2 / S``
    with ``q_i = (1 - ||p_i||^2) / K``. The median of ``D_j`` over the
    varying columns is the ``a`` of :func:`solver_scale` that fits this point
    of the problem: at the prior it is ``(1 - sum_k p_k**2) / K`` for every
    column (0.16 for five balanced classes), and it falls towards 0 as a
    weakly penalized fit separates the classes. Estimated on an evenly spaced
    sample of at most 2,048 rows, and clipped to ``[1e-3, 0.25]``.

    The sample of ``X`` (weights ``sample_weight``) and its squared
    standardized values (``mu``, ``sigma`` of :func:`column_scaling`) are
    prepared once; each call ``probe(coef, intercept)`` (original coordinates)
    then costs one product of the sample with ``coef``.
    """

    def __init__(self, X, sample_weight, mu, sigma):
        n = X.shape[0]
        rows = np.arange(0, n, max(1, -(-n // _CURVATURE_SAMPLE)))
        self.weights = np.asarray(sample_weight, dtype=np.float64)[rows]
        self.varying = sigma > 0
        sample = X[rows] if len(rows) < n else X
        self.sample = sample.astype(np.float64) if sample.dtype != np.float64 \
            else sample
        if sp.issparse(sample):  # sum_i q_i (x_ij - mu_j)^2, expanded per call
            self.mu, self.squares = mu, self.sample.multiply(self.sample).tocsc()
            self.standardized = None
        else:
            u = (self.sample[:, self.varying] - mu[self.varying]) / sigma[
                self.varying]
            self.standardized = np.square(u, out=u)
        self.sigma = sigma

    def __call__(self, coef, intercept):
        """The data curvature at ``(coef, intercept)``, in ``[1e-3, 0.25]``."""
        w = self.weights
        if not w.sum() > 0 or not np.any(self.varying):
            return _DATA_CURVATURE
        Z = np.asarray(self.sample @ coef.T, dtype=np.float64) + intercept
        Z -= Z.max(axis=1, keepdims=True)
        np.exp(Z, out=Z)
        Z /= Z.sum(axis=1, keepdims=True)
        q = w * (1.0 - np.einsum("ij,ij->i", Z, Z)) / Z.shape[1]
        if self.standardized is not None:
            spread = q @ self.standardized
        else:
            mu = self.mu
            second = np.asarray(self.squares.T @ q).ravel()
            first = np.asarray(self.sample.T @ q).ravel()
            spread = np.maximum(second - 2 * mu * first + mu**2 * q.sum(), 0.0)
            spread = spread[self.varying] / self.sigma[self.varying] ** 2
        lo, hi = _CURVATURE_RANGE
        return float(np.clip(np.median(spread / w.sum()), lo, hi))


def row_blocks(n_rows, n_cols, n_classes=1, *, parallel=False):
    """Slices that cover ``range(n_rows)`` in blocks of bounded size.

    Bounded by ``n_cols`` (columns of the arrays processed per block) and
    ``n_classes`` (width of the per-block logits). ``parallel``: blocks for
    the executor's threads: data of medium size (more than
    ``_MIN_PARALLEL_BLOCK`` values) is cut into at least ``_MIN_BLOCKS``
    blocks, so that the threads share it. The blocks still depend only
    on the shape, never on the number of threads.
    """
    width = max(n_cols, n_classes, 1)
    step = max(1, _BLOCK_ELEMENTS // width)
    if parallel:
        step = min(step, max(-(-n_rows // _MIN_BLOCKS),
                             _MIN_PARALLEL_BLOCK // width, 1))
    return [slice(start, min(start + step, n_rows))
            for start in range(0, n_rows, step)] or [slice(0, 0)]


# Parallel blocks: data of a few hundred thousand values is worth splitting
# across threads (an evaluation of 20,000 x 50 takes milliseconds), smaller
# data is not (the Python work per block and the hand-over to the threads
# would cost more than they save).
_MIN_BLOCKS = 8
_MIN_PARALLEL_BLOCK = 2**17


_SPARSE_BLOCK_VALUES = 2**17


def sparse_row_blocks(indptr, n_cols, n_classes=1):
    """Row slices of a CSR matrix (row pointers ``indptr``) of about equal nnz.

    Each block holds at least ``2**17`` stored values
    (``_SPARSE_BLOCK_VALUES``) and at least
    ``n_cols * n_classes`` (the size of its gradient, which is dense), so that
    adding up the blocks' gradients stays cheap against the products.
    """
    n_rows = len(indptr) - 1
    nnz = int(indptr[-1])
    per_block = max(_SPARSE_BLOCK_VALUES, n_cols * n_classes)
    n_blocks = max(1, min(nnz // per_block, n_rows))
    if n_blocks == 1:
        return [slice(0, n_rows)]
    bounds = np.searchsorted(indptr, np.linspace(0, nnz, n_blocks + 1)[1:-1])
    bounds = np.unique(np.concatenate([[0], bounds, [n_rows]]))
    return [slice(int(a), int(b)) for a, b in itertools.pairwise(bounds)]


def csr_rows(X, rows):
    """Consecutive ``rows`` (a slice) of a CSR matrix, sharing ``X``'s arrays."""
    if rows.start == 0 and rows.stop >= X.shape[0]:
        return X
    start, stop = X.indptr[rows.start], X.indptr[rows.stop]
    return sp.csr_matrix(
        (X.data[start:stop], X.indices[start:stop],
         X.indptr[rows.start:rows.stop + 1] - start),
        shape=(rows.stop - rows.start, X.shape[1]), copy=False,
    )


# Dense float64 data up to this size is copied into column-major order once
# per fit (see evaluation_layout); larger data is used as given.
_LAYOUT_COPY_BYTES = 2**28


def evaluation_layout(X):
    """``X`` in the memory order the kernel evaluates fastest.

    The class-major logits ``coef @ X.T`` read ``X.T``: a row-major view for
    column-major ``X``, which OpenBLAS multiplies up to twice as fast as the
    transposed view of a row-major ``X`` (a digits block, 10 classes: 36
    against 67 us), while the gradient ``R @ X`` changes little. Per
    evaluation, one thread: 0.73x on 20,000 x 50 with 5 classes, 0.79x on
    1,438 x 64 with 10, 0.90x on 10,485 x 100 with 10, never slower
    (0.76x to 1.01x under the Haswell and Sandybridge kernels). So dense
    float64 data of at most 256 MiB is copied into column-major order once
    (no copy when it is already); larger data is used as given, to spare the
    memory. float32 data keeps its order (its logits come sample-major:
    column-major was 1.31x on 10,485 x 100), and sparse data is converted
    to CSR by the row sums.
    """
    if (sp.issparse(X) or X.dtype != np.float64
            or X.nbytes > _LAYOUT_COPY_BYTES):
        return X
    return np.asfortranarray(X)


class NumpyRowSums:
    """The NumPy / SciPy backend's row sums: row blocks on the fit's executor.

    Called as ``row_sums(coef, intercept) -> (loss_sum, grad_coef,
    grad_intercept)``: ``sum_i s_i CE_i``, ``R.T @ X`` and ``R.sum(axis=0)``
    over all rows (``R`` the kernel's residuals) at float64 ``coef`` of shape
    ``(n_classes, n_features)`` and ``intercept`` of shape ``(n_classes,)``
    (None without intercept). This is all a backend provides to
    :class:`Objective`.

    Parameters
    ----------
    X : ndarray or scipy sparse matrix of shape (n_samples, n_features)
        Training data (float64 or float32; the kernel runs in this dtype),
        kept in the order of :func:`evaluation_layout` (dense float64 data
        copied into column-major order) and CSR.
    targets : ndarray of shape (n_samples,) or (n_samples, n_classes)
        Integer class codes or target probabilities.
    sample_weight : ndarray of shape (n_samples,)
        Nonnegative weights ``s_i``.
    n_classes : int
        Number of classes ``K``.
    label_smoothing : float, default=0.0
        Smoothing applied to integer targets inside the kernel.
    """

    def __init__(self, X, targets, sample_weight, n_classes, label_smoothing=0.0):
        X = evaluation_layout(X)
        self.X = X
        self.n_samples, self.dtype = X.shape[0], X.dtype
        self.sparse = sp.issparse(X)
        # Probability targets enter products with the logits: match X's dtype.
        # Column-major, so that a block's (m, K) slice is laid out like the
        # kernel's class-major logits (one evaluation on 20,000 x 200 with 100
        # classes: 0.94-0.96x of the row-major layout; 5 classes: the same).
        self.targets = (np.asarray(targets, dtype=X.dtype, order="F")
                        if targets.ndim == 2 else targets)
        self.sample_weight = np.asarray(sample_weight, dtype=X.dtype)
        self.label_smoothing = label_smoothing
        if sp.issparse(X):
            # Blocks are split by rows; CSC (like scikit-learn's lbfgs) is
            # converted once.
            self.X = X = X.tocsr()
            self.blocks = sparse_row_blocks(X.indptr, X.shape[1], n_classes)
        else:
            self.blocks = row_blocks(X.shape[0], X.shape[1], n_classes,
                                     parallel=True)

    def __call__(self, coef, intercept):
        dtype = self.X.dtype
        coef_x = coef.astype(dtype, copy=False)
        intercept_x = None if intercept is None else intercept.astype(dtype)
        X, blocks = self.X, self.blocks

        def block(i):
            rows = blocks[i]
            return block_loss_grad(
                csr_rows(X, rows) if sp.issparse(X) else X[rows],
                self.targets[rows], self.sample_weight[rows], coef_x,
                intercept_x, label_smoothing=self.label_smoothing,
            )

        # Summed in block order, whichever thread computed which block: the
        # same bits on every run and with any number of threads.
        loss = 0.0
        grad_coef = np.zeros(coef.shape)
        grad_intercept = np.zeros(coef.shape[0])
        for block_loss, g_coef, g_intercept in current_executor().map(
                block, len(blocks)):
            loss += block_loss
            grad_coef += g_coef
            grad_intercept += g_intercept
        return loss, grad_coef, grad_intercept

    def hessian(self, coef, intercept, mu, sigma):
        """The data term's Hessian summed over all rows, in ``theta``
        (:func:`~sksoftmax._hessian.rows_hessian`; dense data only)."""
        return rows_hessian(self.X, self.sample_weight, coef, intercept, mu,
                            sigma, map_blocks=current_executor().map)


class Objective:
    """Penalized mean cross-entropy and its gradient, for ``jac=True`` solvers.

    Built from a backend's row sums (:class:`NumpyRowSums`, or the Dask and
    array-API backends' own): everything else (normalization by ``S``, the L2
    penalty, the conditioning map) is computed here, once for all backends.

    Parameters
    ----------
    row_sums : callable
        ``row_sums(coef, intercept) -> (loss_sum, grad_coef,
        grad_intercept)`` (see :class:`NumpyRowSums`). Row sums that also
        have ``hessian(coef, intercept, mu, sigma)``, ``sparse``, ``dtype``
        and ``n_samples`` (every backend's) give :meth:`data_hessian`.
    weight_sum : float
        ``S = sum_i s_i``.
    n_classes, n_features : int
        Shape of ``coef``.
    C : float
        Inverse regularization strength of an L2 penalty, in the units of
        the weights; ``np.inf`` means none. The fit passes ``np.inf``: its
        problem (:class:`~sksoftmax._problem.PenalizedProblem`) sets the
        penalty.
    fit_intercept : bool
        Whether the last column of the parameters is an intercept.
    mu, sigma : ndarray of shape (n_features,) or None
        Conditioning (see the module docstring); None means no conditioning.
    curvature : float, default=None
        The data curvature per unit variance that the solver scale assumes
        (:func:`solver_scale`); None means the default, 0.02. Only the
        coordinates change, never the objective or the stopping rule
        (:meth:`rule_scale`).

    Attributes
    ----------
    l2_reg_strength : float
        ``1 / (C S)``: the L2 penalty is
        ``l2_reg_strength * sum_j penalty_factor_j ||W[:, j]||^2 / 2``.
    penalty_factor : ndarray of shape (n_features,) or None
        Per-column factors of the L2 penalty; None means all ones.
    column_sigma : ndarray of shape (n_features,) or None
        The column scales given as ``sigma``, kept so that
        :meth:`set_penalty` can recompute the solver scale.
    sigma : ndarray of shape (n_features,)
        The solver scale of each column (:func:`solver_scale`).
    curvature : float
        The ``curvature`` the solver scale uses.
    """

    penalty_factor = None
    column_sigma = None
    curvature = _DATA_CURVATURE
    _rule_scale = None

    def __init__(self, row_sums, weight_sum, n_classes, n_features, C,
                 fit_intercept, mu=None, sigma=None, curvature=None):
        self.row_sums = row_sums
        self.n_classes = n_classes
        self.fit_intercept = fit_intercept
        self.weight_sum = float(weight_sum)
        self.l2_reg_strength = Penalty(C).strength(self.weight_sum)
        self.mu = np.zeros(n_features) if mu is None else mu
        self.sigma = np.ones(n_features) if sigma is None else sigma
        if curvature is not None:
            self.curvature = float(curvature)
        if sigma is not None:
            self.column_sigma = sigma
            self.sigma = solver_scale(self.sigma, self.l2_reg_strength,
                                      self.curvature)
        self.n_evaluations = 0

    @property
    def n_features(self):
        """Number of features ``d``."""
        return len(self.sigma)

    @property
    def n_params(self):
        """Length of the flat parameter vector ``theta``."""
        return self.n_classes * (self.n_features + self.fit_intercept)

    def set_penalty(self, l2_reg_strength, penalty_factor=None):
        """Change the L2 penalty; the conditioning follows it.

        ``l2_reg_strength`` is the new ``1 / (C S)`` of the L2 part (zero for
        none), ``penalty_factor`` per-column factors (None: all ones). Cheap: the
        data and its column statistics are kept. Parameters mapped by
        :meth:`from_original` before the change must be mapped again after it, as
        the solver scale depends on the penalty.
        """
        self.l2_reg_strength = float(l2_reg_strength)
        self.penalty_factor = penalty_factor
        self._rule_scale = None
        if self.column_sigma is not None:
            per_column = (self.l2_reg_strength if penalty_factor is None
                          else self.l2_reg_strength * penalty_factor)
            self.sigma = solver_scale(self.column_sigma, per_column,
                                      self.curvature)

    def rule_scale(self):
        """Factors that take the gradient to the default conditioning, or None.

        The stopping rule reads the gradient in the coordinates of the
        default ``curvature``, so that ``tol`` means the same whatever
        curvature a path chose for the solver (:class:`CurvatureProbe`).
        ``grad * scale`` is the gradient in those coordinates; None when they
        are the solver's own.
        """
        if self.column_sigma is None or self.curvature == _DATA_CURVATURE:
            return None
        if self._rule_scale is not None:
            return self._rule_scale  # read at every iteration: once per penalty
        per_column = (self.l2_reg_strength if self.penalty_factor is None
                      else self.l2_reg_strength * self.penalty_factor)
        scale = np.ones((self.n_classes, self.n_features + self.fit_intercept))
        scale[:, :self.n_features] = self.sigma / solver_scale(
            self.column_sigma, per_column)
        self._rule_scale = scale.ravel()
        return self._rule_scale

    def to_original(self, theta):
        """``(coef, intercept)`` for ``theta`` (zero intercepts without one)."""
        theta = theta.reshape(self.n_classes, -1)
        if self.fit_intercept:
            coef = theta[:, :-1] / self.sigma
            intercept = theta[:, -1] - coef @ self.mu
        else:
            coef = theta / self.sigma
            intercept = np.zeros(self.n_classes)
        return coef, intercept

    def from_original(self, coef, intercept):
        """Inverse of :meth:`to_original`: ``theta`` for given ``(coef, intercept)``."""
        coef = np.asarray(coef, dtype=np.float64)
        V = coef * self.sigma
        if not self.fit_intercept:
            return V.ravel()
        c = np.asarray(intercept, dtype=np.float64) + coef @ self.mu
        return np.hstack([V, c[:, None]]).ravel()

    def hessian_applies(self):
        """Whether :meth:`data_hessian` is formed for this objective (dense
        float64 data, few parameters: :func:`~sksoftmax._hessian.hessian_applies`),
        whichever backend's row sums it has."""
        row_sums = self.row_sums
        if not hasattr(row_sums, "hessian"):  # row sums of another kind
            return False
        return hessian_applies(row_sums.sparse, row_sums.dtype, self.n_params)

    def data_hessian(self, theta):
        """The Hessian of the data term (mean cross-entropy, no penalty) at
        ``theta``, with respect to ``theta``: the row sums' ``hessian``,
        divided by ``S``."""
        coef, intercept = self.to_original(theta)
        if self.fit_intercept:
            H = self.row_sums.hessian(coef, intercept, self.mu, self.sigma)
        else:
            H = self.row_sums.hessian(coef, None, None, self.sigma)
        return np.asarray(H, dtype=np.float64) / self.weight_sum

    def loss_grad(self, theta):
        """Objective ``f(W, b)`` and its float64 gradient with respect to ``theta``."""
        self.n_evaluations += 1
        coef, intercept = self.to_original(theta)
        sums = self.row_sums(coef, intercept if self.fit_intercept else None)
        return self.finish(*sums, coef)

    def finish(self, loss_sum, grad_coef, grad_intercept, coef):
        """``(loss, grad)`` from the summed kernel outputs at ``coef``.

        Normalizes ``loss_sum``, ``grad_coef`` and ``grad_intercept`` (summed over
        all rows) by ``S``, adds the penalty and maps the gradient to ``theta``:
        backends differ only in how the sums are formed.
        """
        S = self.weight_sum
        grad_coef = np.asarray(grad_coef, dtype=np.float64) / S
        grad_intercept = np.asarray(grad_intercept, dtype=np.float64) / S
        loss = loss_sum / S
        if self.l2_reg_strength and self.penalty_factor is None:
            loss += 0.5 * self.l2_reg_strength * float(np.vdot(coef, coef))
            grad_coef += self.l2_reg_strength * coef
        elif self.l2_reg_strength:
            weighted = (self.l2_reg_strength * self.penalty_factor) * coef
            loss += 0.5 * float(np.vdot(weighted, coef))
            grad_coef += weighted
        if self.fit_intercept:
            grad_V = (grad_coef - np.outer(grad_intercept, self.mu)) / self.sigma
            grad = np.hstack([grad_V, grad_intercept[:, None]])
        else:
            grad = grad_coef / self.sigma
        return loss, grad.ravel()


class SoftmaxObjective(Objective):
    """:class:`Objective` of NumPy or SciPy data: ``NumpyRowSums(X, targets, ...)``.

    ``sample_weight`` is the sample weight times the class weight (zero for
    ignored samples); ``X``, ``targets``, ``n_classes`` and
    ``label_smoothing`` as in :class:`NumpyRowSums`, the others as in
    :class:`Objective`.
    """

    def __init__(self, X, targets, sample_weight, n_classes, C, fit_intercept,
                 label_smoothing=0.0, mu=None, sigma=None, curvature=None):
        super().__init__(
            NumpyRowSums(X, targets, sample_weight, n_classes, label_smoothing),
            np.sum(sample_weight, dtype=np.float64), n_classes, X.shape[1], C,
            fit_intercept, mu=mu, sigma=sigma, curvature=curvature)
