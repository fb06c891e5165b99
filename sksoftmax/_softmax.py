"""The estimator: ``SoftmaxClassifier``."""

import sys
from functools import partial
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.validation import (
    check_is_fitted,
    validate_data,
)

from sksoftmax._callbacks import CallbackSupportMixin, fit_callbacks
from sksoftmax._executor import fit_executor, map_blocks
from sksoftmax._fitter import fit_estimator
from sksoftmax._loss import log_softmax, softmax
from sksoftmax._metrics import expected_accuracy, n_soft_columns
from sksoftmax._objective import (
    SoftmaxObjective,
    column_scaling,
    csr_rows,
    row_blocks,
    sparse_row_blocks,
)
from sksoftmax._targets import fit_weights, prepare_targets

try:
    from sklearn.utils._array_api import check_same_namespace
except ImportError:  # pragma: no cover - scikit-learn < 1.9 has no such check

    def check_same_namespace(X, estimator, *, attribute, method):
        """Accept any input: the array-API backend needs scikit-learn >= 1.9."""


class SoftmaxClassifier(CallbackSupportMixin, ClassifierMixin, BaseEstimator):
    """Softmax classifier (multinomial logistic regression) fitted by L-BFGS.

    Minimizes the weighted mean cross-entropy between the target distribution
    ``t_i`` and the softmax of the logits ``z_i = W x_i + b``, plus an L2,
    L1 or elastic-net penalty on ``W``::

        f(W, b) = sum_i s_i H(t_i, softmax(z_i)) / S
                  + (l1_ratio ||W||_1 + (1 - l1_ratio) ||W||^2 / 2) / (C S)

    with ``s_i`` the sample weight times the class weight and ``S = sum_i s_i``
    (per-feature ``penalty_factor`` multiply each column's penalty), subject
    to optional bounds ``lower <= W <= upper``.
    For three or more classes this is exactly the objective of
    :class:`sklearn.linear_model.LogisticRegression` (``solver="lbfgs"``, or
    ``solver="saga"`` with ``l1_ratio``), so both reach the same optimum. Two
    classes are fitted as a true two-vector softmax, which equals
    ``LogisticRegression(C=2 * C / (1 + l1_ratio),
    l1_ratio=2 * l1_ratio / (1 + l1_ratio))`` (``C=2 * C`` for L2).

    The L1 part is handled exactly by L-BFGS-B on working sets: on the
    orthant of the current signs the L1 term is linear, so L-BFGS-B runs on
    the nonzero coefficients alone (each kept on its side of zero); the zeros
    are then checked against the KKT conditions with the full gradient, and
    those that violate them enter the next round. Where the set does not
    settle, each coefficient is split into a positive and a negative part,
    both bounded below by zero. Coefficients at zero are exact zeros in
    ``coef_``.

    L-BFGS runs on centred and scaled features (the optimum is unchanged; only
    the geometry the solver sees is), so unscaled and sparse data converge
    without a ``StandardScaler``.

    Read more in the :ref:`User Guide <user_guide>`.

    Parameters
    ----------
    C : float, default=1.0
        Inverse of the regularization strength; must be positive. ``np.inf``
        means no penalty.

    fit_intercept : bool, default=True
        Whether to fit an (unpenalized) intercept per class.

    class_weight : dict or "balanced", default=None
        Weights ``{class_label: weight}`` multiplied into the sample weights.
        ``"balanced"`` uses ``n_samples / (n_classes * np.bincount(y))``, with
        the counts (and ``n_samples``) summed over ``sample_weight`` so that
        integer weights act exactly like repeated rows, and ignored samples not
        counted. With soft targets the loss of sample ``i`` becomes
        ``sum_k class_weight[k] * t_ik * (-log p_ik)``, exactly as if the
        sample were repeated once per class with weights ``t_ik`` (PyTorch's
        weighted soft-target cross-entropy); the normalization ``S`` sums
        these weights. "balanced" then uses the (weighted) column sums of the
        target matrix as class counts. With ``label_smoothing`` the smoothed
        labels are such soft targets, so smoothing a label vector and passing
        the smoothed target matrix give the same fit, class weights included.

    max_iter : int, default=1000
        Maximum number of L-BFGS iterations. Well-conditioned problems meet
        ``tol`` after 10 to 80 iterations; nearly separable ones (digits,
        sparse counts with a weak penalty) need 150 to 300.

    tol : float, default=2e-5
        Relative tolerance on the gap to the optimum: stop when an estimate of
        ``(f - f*) / f`` is at most ``tol`` (``f`` the objective, below a mean
        loss of 1e-4 nats taken as 1e-4) and the largest gradient component
        (in centred and scaled coordinates) is at most ``tol * f`` too. The
        estimate is ``g' H g / 2`` with ``H`` the L-BFGS inverse Hessian of
        the last ``history_size`` steps (its scaling set by the flattest
        curvature among the last 30 steps), or, without bounds, what the
        loss curve's last decreases say is left, whichever is larger; with
        bounds it covers the free coefficients. It can fall a few times
        below the true gap: the default
        ends within about 1e-4 of the optimum, or warns. The starting point,
        where no curvature is known, is accepted on the gradient test alone.
        A ``tol`` below what floating point resolves (even 0) ends at the
        rounding floor without a warning: a stalled line search with an
        estimated gap within ``sqrt(eps)`` of the objective (at most 2e-5 in
        float32). See :ref:`tol <tol>`.

    warm_start : bool, default=False
        Start from the previous solution when refitting with the same classes
        and features.

    verbose : int, default=0
        Print one line per iteration (iteration, objective, largest gradient
        component, elapsed time) when positive.

    label_smoothing : float, default=0.0
        In ``[0, 1)``: the target of a sample of class ``k`` becomes
        ``(1 - label_smoothing) * onehot(k) + label_smoothing / n_classes``
        (PyTorch's definition). Also applied to soft targets.

    ignore_label : object, default=None
        Samples whose label equals ``ignore_label`` contribute nothing to the
        fit, as if absent, and it is not a class. Use ``-1`` for scikit-learn's
        semi-supervised convention of unlabeled samples.

    history_size : int, default=10
        Number of correction pairs kept by L-BFGS (SciPy's ``maxcor``). More
        pairs cost memory and time per iteration (``history_size`` vectors of
        ``n_classes * (n_features + 1)`` values) and saved few iterations on
        the benchmark problems.

    max_fun : int, default=15000
        Maximum number of loss and gradient evaluations.

    l1_ratio : float, default=0.0
        The elastic-net mixing parameter, in ``[0, 1]``: 0 is the L2 penalty,
        1 the L1 (lasso) penalty, in between a mix; scikit-learn's
        definition. With ``C=np.inf`` there is no penalty whatever
        ``l1_ratio``. Where the L1 part alone fixes no split of a feature's
        coefficients among the classes (``l1_ratio=1``), ``coef_`` is the
        optimum of smallest norm (see the :ref:`User Guide <penalties>`).

    penalty_factor : array-like of shape (n_features,), default=None
        Nonnegative finite factors multiplying each feature's penalty, L1 and
        L2 (glmnet's ``penalty.factor``, without its renormalization); 0
        leaves a feature unpenalized. None means all ones.

    coef_bounds : tuple (lower, upper), default=None
        Bounds on ``coef_``, each a scalar or an array broadcastable to
        ``(n_classes, n_features)``, with ``lower <= 0 <= upper`` so that zero
        is feasible; ``-np.inf`` / ``np.inf`` for none. The intercept is not
        bounded.

    positive : bool, default=False
        Constrain the coefficients to be nonnegative: ``coef_bounds=(0,
        np.inf)`` (combined with ``coef_bounds`` if both are given).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels; ``np.arange(n_classes)`` when fitted on soft targets.

    coef_ : ndarray or sparse matrix of shape (n_classes, n_features)
        Coefficients ``W``, one row per class, for every number of classes;
        a CSR matrix after :meth:`sparsify`.

    intercept_ : ndarray of shape (n_classes,)
        Intercepts ``b`` (zeros when ``fit_intercept=False``), centred to sum to
        zero (the softmax does not change when a constant is added to all).

    n_iter_ : int
        Number of L-BFGS iterations run.

    loss_ : float
        Objective ``f(W, b)`` at the solution.

    loss_curve_ : list of float
        Objective after each iteration; the last entry equals ``loss_``.

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`, for inputs with string
        column names.

    See Also
    --------
    sklearn.linear_model.LogisticRegression : The reference this estimator
        matches, with the binomial parametrization for two classes.

    Notes
    -----
    ``fit`` (and the predictions on large inputs) split the rows into blocks
    and run them on a pool of threads of its own, with every BLAS library at
    one thread meanwhile; the blocks' sums are added in a fixed order, so the
    result is the same, bit for bit, with any number of threads. The pool has
    as many threads as the process may use CPUs, capped by the BLAS thread
    limits: ``threadpoolctl.threadpool_limits(n)`` or ``OMP_NUM_THREADS=n``
    give at most ``n`` threads. See :ref:`thread-pools`.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sksoftmax import SoftmaxClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = SoftmaxClassifier().fit(X, y)
    >>> clf.predict(X[:2])
    array([0, 0])
    >>> clf.predict_proba(X[:1]).round(3)
    array([[0.982, 0.018, 0.   ]])
    >>> round(clf.score(X, y), 3)
    0.973
    """

    _parameter_constraints: ClassVar[dict] = {
        "C": [Interval(Real, 0, None, closed="right")],
        "fit_intercept": ["boolean"],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
        "ignore_label": "no_validation",
        "history_size": [Interval(Integral, 1, None, closed="left")],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "penalty_factor": ["array-like", None],
        "coef_bounds": "no_validation",
        "positive": ["boolean"],
    }

    def __init__(
        self,
        *,
        C=1.0,
        fit_intercept=True,
        class_weight=None,
        max_iter=1000,
        tol=2e-5,
        warm_start=False,
        verbose=0,
        label_smoothing=0.0,
        ignore_label=None,
        history_size=10,
        max_fun=15000,
        l1_ratio=0.0,
        penalty_factor=None,
        coef_bounds=None,
        positive=False,
    ):
        self.C = C
        self.fit_intercept = fit_intercept
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.verbose = verbose
        self.label_smoothing = label_smoothing
        self.ignore_label = ignore_label
        self.history_size = history_size
        self.max_fun = max_fun
        self.l1_ratio = l1_ratio
        self.penalty_factor = penalty_factor
        self.coef_bounds = coef_bounds
        self.positive = positive

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        # PyTorch / CuPy / array-api-strict inputs under array_api_dispatch.
        tags.array_api_support = True
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to labels or to target probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. float32 data is fitted in float32 arithmetic and
            gives float32 coefficients; sparse CSR/CSC is never densified.

        y : array-like of shape (n_samples,) or (n_samples, n_classes)
            Class labels, or soft targets: nonnegative rows that sum to one
            (then ``classes_`` is ``np.arange(n_classes)``).

        sample_weight : array-like of shape (n_samples,), default=None
            Nonnegative weight of each sample; None gives every sample weight 1.

        Returns
        -------
        self : SoftmaxClassifier
            The fitted estimator.
        """
        # scikit-learn's callbacks (1.9+) see the whole fit as one task; entered
        # before the snapshot so that a restore keeps what their teardown needs.
        with fit_callbacks(self, X, y, sample_weight, self.max_iter):
            # Keep an already fitted estimator intact if anything below raises.
            previous_state = self.__dict__.copy()
            try:
                return self._fit(X, y, sample_weight)
            except BaseException:
                self.__dict__.clear()
                self.__dict__.update(previous_state)
                raise

    def _fit(self, X, y, sample_weight):
        backend = _backend_for(X)
        if backend is not None:
            return backend.fit(self, X, y, sample_weight)
        # One pool of threads for the column statistics and every evaluation.
        with fit_executor():
            return self._fit_arrays(X, y, sample_weight)

    def _fit_arrays(self, X, y, sample_weight):
        """The NumPy / SciPy fit: the sequence every backend follows."""
        X, targets = self._validate_fit_data(X, y)
        weights, weight_scale = fit_weights(targets, sample_weight, X.shape[0],
                                            self.class_weight)
        mu, sigma = column_scaling(X, weights, self.fit_intercept)
        # The data term only: the problem sets the penalty (fit_estimator).
        objective = SoftmaxObjective(
            X, targets.values, weights, targets.n_classes, np.inf,
            self.fit_intercept, label_smoothing=targets.kernel_smoothing,
            mu=mu, sigma=sigma,
        )
        result = fit_estimator(self, objective, targets.class_totals(weights),
                               weight_scale=weight_scale, dtype=X.dtype,
                               classes=targets.classes)
        self.classes_ = targets.classes
        self.coef_ = result.coef.astype(X.dtype, copy=False)
        self.intercept_ = result.intercept.astype(X.dtype, copy=False)
        return self

    def _validate_fit_data(self, X, y):
        """Validate ``X`` (setting ``n_features_in_``) and turn ``y`` into targets.

        Shared with :class:`~sksoftmax.SoftmaxClassifierCV`, which validates once
        for all its folds.

        Returns
        -------
        X : ndarray or scipy sparse matrix of shape (n_samples, n_features)
            float64 or float32 data, CSR/CSC if sparse.
        targets : Targets
            Classes, codes or probabilities, and the ignored samples.
        """
        X = validate_data(
            self, _reject_strings(X), accept_sparse=("csr", "csc"),
            dtype=[np.float64, np.float32], reset=True,
        )
        _check_duplicate_sums(X)
        targets = prepare_targets(
            y, n_samples=X.shape[0], ignore_label=self.ignore_label,
            label_smoothing=self.label_smoothing,
        )
        return X, targets

    def _check_X(self, X):
        check_is_fitted(self)
        X = validate_data(
            self, _reject_strings(X), accept_sparse=("csr", "csc"),
            dtype=[np.float64, np.float32], reset=False,
        )
        _check_duplicate_sums(X)
        return X

    def _logits(self, X, method, post):
        """``post(logits, xp)``: the one dispatch of a prediction to its backend.

        The NumPy / SciPy path splits large inputs by rows and runs them on
        the executor's threads (:mod:`sksoftmax._executor`); each block is
        independent, so the result does not depend on the number of threads.
        Dask and array-API inputs go to their backend's ``logits``, which
        applies the same ``post`` to its chunks or device arrays.
        """
        backend = _backend_for(X)
        if backend is not None:
            if sp.issparse(getattr(self, "coef_", None)):
                raise ValueError(
                    "coef_ is sparse (sparsify()); call densify() before "
                    "predicting on Dask or array-API inputs."
                )
            return backend.logits(self, X, post)
        check_is_fitted(self)
        # Under array_api_dispatch, a model fitted on (say) torch tensors must
        # not be applied to NumPy input (backends check their own inputs).
        check_same_namespace(X, self, attribute="coef_", method=method)
        X = self._check_X(X)
        dtype = np.result_type(X.dtype, self.coef_.dtype)
        coef_t = self.coef_.T.astype(dtype, copy=False)
        intercept = self.intercept_.astype(dtype)

        def logits(rows):
            block = X if rows is None else (
                csr_rows(X, rows) if sp.issparse(X) else X[rows])
            # safe_sparse_dot: coef_ may be sparse (sparsify()).
            Z = np.asarray(safe_sparse_dot(block, coef_t, dense_output=True),
                           dtype=dtype) + intercept
            return post(Z, np)

        # CSC cannot be split by rows without a conversion that costs as much
        # as the product: one block.
        if sp.issparse(X) and X.format != "csr":
            return logits(None)
        blocks = (sparse_row_blocks(X.indptr, X.shape[1], len(intercept))
                  if sp.issparse(X) else
                  row_blocks(X.shape[0], X.shape[1], len(intercept),
                             parallel=True))
        if len(blocks) == 1:
            return logits(None)
        parts = map_blocks(lambda i: logits(blocks[i]), len(blocks))
        return np.concatenate(parts)

    def densify(self):
        """Convert a sparse ``coef_`` (from :meth:`sparsify`) back to an array.

        The default format of ``coef_``, needed for fitting with
        ``warm_start`` on other backends; a no-op on a dense ``coef_``.

        Returns
        -------
        self : SoftmaxClassifier
            Fitted estimator.

        Examples
        --------
        >>> from sksoftmax import SoftmaxClassifier
        >>> from sklearn.datasets import load_iris
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = SoftmaxClassifier(l1_ratio=1.0, C=0.1).fit(X, y).sparsify()
        >>> type(clf.densify().coef_).__name__
        'ndarray'
        """
        check_is_fitted(self, msg="Estimator, %(name)s, must be fitted before"
                        " densifying.")
        if sp.issparse(self.coef_):
            self.coef_ = self.coef_.toarray()
        return self

    def sparsify(self):
        """Convert ``coef_`` to a ``scipy.sparse`` CSR matrix.

        With L1 regularization ``coef_`` has exact zeros; stored sparse, it
        takes less memory and prediction on sparse ``X`` is faster (as
        :meth:`sklearn.linear_model.LogisticRegression.sparsify`).
        ``intercept_`` is not converted. Predictions are unchanged; the
        NumPy/SciPy path predicts with a sparse ``coef_``, the Dask and
        array-API backends need :meth:`densify` first.

        Returns
        -------
        self : SoftmaxClassifier
            Fitted estimator, its ``coef_`` now a CSR matrix.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from sksoftmax import SoftmaxClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = SoftmaxClassifier(l1_ratio=1.0, C=0.1).fit(X, y)
        >>> clf.sparsify().coef_.nnz < 12
        True
        """
        check_is_fitted(self, msg="Estimator, %(name)s, must be fitted before"
                        " sparsifying.")
        self.coef_ = sp.csr_matrix(self.coef_)
        return self

    def decision_function(self, X):
        """Logits of each class; for two classes, ``z_1 - z_0``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            ``X @ coef_.T + intercept_``; with two classes the 1-D score of the
            second class against the first (scikit-learn's convention), whose
            sign gives the prediction.
        """
        return self._logits(X, "decision_function", _binary_score)

    def predict(self, X):
        """Predict the most probable class of each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The samples to classify.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted class labels, taken from ``classes_``.
        """
        check_is_fitted(self)
        return self._logits(X, "predict", partial(_labels, self.classes_))

    def predict_log_proba(self, X):
        """Logarithm of the class probabilities, computed by log-softmax.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples to compute log-probabilities for.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            ``z - logsumexp(z)``: finite even where a probability underflows
            to zero. Columns follow ``classes_``.
        """
        return self._logits(X, "predict_log_proba", log_softmax)

    def predict_proba(self, X):
        """Class probabilities: the softmax of the logits.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Rows sum to one; columns follow ``classes_``.
        """
        return self._logits(X, "predict_proba", softmax)

    def score(self, X, y, sample_weight=None):
        """Accuracy on labels; expected accuracy on soft targets.

        For a 2-D ``y`` of soft targets ``P`` the score is
        ``sum_i s_i P[i, predicted class of i] / sum_i s_i``: the probability
        that the prediction matches a label drawn from ``P_i``. It equals the
        accuracy for one-hot rows, so ``cross_val_score`` and ``GridSearchCV``
        rank models the same way on labels and on soft targets.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Test samples.
        y : array-like of shape (n_samples,) or (n_samples, n_classes)
            True labels, or soft targets whose columns follow ``classes_``.
        sample_weight : array-like of shape (n_samples,), default=None
            Nonnegative weight of each sample.

        Returns
        -------
        score : float
            Weighted (expected) accuracy, between 0 and 1.
        """
        n_columns = n_soft_columns(y)
        if not n_columns:
            return super().score(X, y, sample_weight=sample_weight)
        check_is_fitted(self)
        if n_columns != len(self.classes_):
            raise ValueError(
                f"y has {n_columns} columns of soft targets; the model has "
                f"{len(self.classes_)} classes."
            )
        predicted = np.searchsorted(self.classes_, np.asarray(self.predict(X)))
        return expected_accuracy(y, predicted, sample_weight)


def _binary_score(Z, xp):
    """scikit-learn's binary decision function ``z_1 - z_0``; logits otherwise."""
    return Z[:, 1] - Z[:, 0] if Z.shape[1] == 2 else Z


def _labels(classes, Z, xp):
    """Labels of the largest logits, from ``classes`` (any namespace).

    As scikit-learn's linear classifiers under array-API dispatch: the labels
    are moved to ``Z``'s namespace and device, except strings, which only
    NumPy holds.
    """
    codes = xp.argmax(Z, axis=1)
    if isinstance(classes, np.ndarray) and isinstance(codes, np.ndarray):
        return classes[codes]
    from sksoftmax._array_api import labels_like

    return labels_like(classes, codes)


def _reject_strings(X):
    """Refuse ``None`` and arrays of strings, which NumPy would parse as numbers.

    Lists and tuples are converted here (validation would convert them anyway)
    so that a list of strings is caught too. DataFrames with text or
    categorical columns get the same advice, naming the columns; other object
    arrays pass: scikit-learn's conversion names any value that is not a number.
    """
    if X is None:
        raise ValueError(
            "X is None; SoftmaxClassifier needs an array-like or sparse matrix "
            "of shape (n_samples, n_features)."
        )
    if isinstance(X, list | tuple):
        X = np.asarray(X)
    if getattr(getattr(X, "dtype", None), "kind", None) in ("U", "S"):
        raise ValueError(
            f"X is an array of strings (dtype {X.dtype}); SoftmaxClassifier needs "
            "numbers. Convert numeric text with X.astype(float), and encode "
            "categories with sklearn.preprocessing.OneHotEncoder."
        )
    columns = _non_numeric_columns(X)
    if columns:
        names = ", ".join(repr(name) for name in columns[:10])
        more = f" and {len(columns) - 10} more" if len(columns) > 10 else ""
        raise ValueError(
            f"X has non-numeric columns: {names}{more}; SoftmaxClassifier needs "
            "numbers. Encode categories with sklearn.preprocessing.OneHotEncoder "
            "in a ColumnTransformer, e.g. make_pipeline(make_column_transformer("
            f"(OneHotEncoder(), [{', '.join(repr(n) for n in columns[:3])}]), "
            "remainder='passthrough'), SoftmaxClassifier())."
        )
    return X


def _check_duplicate_sums(X, block=1 << 20):
    """Refuse a sparse ``X`` whose duplicate entries sum beyond the dtype's range.

    Validation checks the stored values; the products add duplicates (entries
    of the same row and column) together, and finite values can sum to
    infinity. A duplicate group's sum is at most the sum of the magnitudes of
    its row (column for CSC), so only rows where that sum overflows are summed
    exactly: no copy of ``X``, a temporary of at most ``block`` values.
    """
    if not sp.issparse(X) or X.has_canonical_format:
        return
    limit = np.finfo(X.dtype).max
    indptr = X.indptr
    suspect = []
    for start in range(0, len(indptr) - 1, max(1, block // 16)):
        stop = min(start + max(1, block // 16), len(indptr) - 1)
        counts = np.diff(indptr[start:stop + 1])
        sums = np.bincount(np.repeat(np.arange(stop - start), counts),
                           weights=np.abs(X.data[indptr[start]:indptr[stop]]),
                           minlength=stop - start)
        suspect.extend(start + np.flatnonzero(~(sums <= limit)))
    if not suspect:
        return
    part = X[suspect] if X.format == "csr" else X[:, suspect]
    part.sum_duplicates()
    if not np.isfinite(part.data).all():
        raise ValueError(
            f"Input X contains infinity or a value too large for {X.dtype!r} "
            "once its duplicate entries (several values stored for one row and "
            "column, which are added up) are summed. Check the values, or sum "
            "them with X.sum_duplicates() first."
        )


def _non_numeric_columns(X):
    """Names of a DataFrame's columns that hold text or categories of text."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(X, "columns") or not hasattr(dtypes, "items"):
        return []
    bad = []
    for name, dtype in dtypes.items():
        if getattr(dtype, "kind", "O") in "biufcmM":
            continue
        values = getattr(dtype, "categories", None)
        values = X[name] if values is None else values
        if any(isinstance(v, str | bytes) for v in values):
            bad.append(name)
    return bad


def _backend_for(X):
    """The backend module for inputs that NumPy/SciPy do not handle, or None.

    Backends (Dask, array-API namespaces) live in their own modules, imported
    only when such an input arrives, so that importing sksoftmax costs nothing
    when Dask or PyTorch is not installed. Each backend module provides
    ``fit(estimator, X, y, sample_weight)`` and ``logits(estimator, X,
    post)``, which returns ``post(logits, xp)`` computed in its own arrays.
    """
    # Never import Dask here: if it is not imported, X is no Dask collection.
    dask = sys.modules.get("dask")
    if dask is not None and dask.is_dask_collection(X):
        from sksoftmax import _dask

        return _dask
    from sklearn import get_config

    # Array API (PyTorch, CuPy, array-api-strict): only under scikit-learn's
    # dispatch, as LogisticRegression; otherwise such inputs go to NumPy.
    if get_config()["array_api_dispatch"]:
        from sksoftmax import _array_api

        if _array_api.handles(X):
            return _array_api
    return None
