"""Standard errors, confidence intervals and p-values of a fitted softmax model.

The symmetric softmax ``p_ik = softmax(W x_i + b)_k`` does not change when the
same vector is added to every class, so the coefficients of one class are not
identifiable on their own (without a penalty). Their *contrasts* against a
reference class are::

    D_k = (b_k - b_ref, W_k - W_ref),   k != ref,         (rows q = [1] + d)

which is statsmodels' ``MNLogit`` parametrization. This module builds the
Hessian of the fit's objective as a function of the ``K - 1`` contrast vectors
(in sum units, so that sample weights act as frequency weights) and inverts it.

With an L2 penalty, the symmetric ``W`` at the optimum has class sum zero (the
data gradient sums to zero over the classes, so the penalty gradient must), so
``W_k = D_k - mean_j D_j`` with ``D_ref = 0``: the penalty as a function of
the contrasts is ``||D - mean D||^2 / (2 C)`` over the feature rows, whose
Hessian is ``(I_{K-1} - J / K) / C`` per feature (``J`` the all-ones matrix).

Layout everywhere: ``params[v, a]`` for variable ``v`` (the intercept first,
then the features) and non-reference class ``a``; flat vectors and ``cov``
run class by class (``params.T.ravel()``), as statsmodels' ``cov_params()``.

Numerics: the Hessian is accumulated over row blocks on standardized columns
``u = (x - mu) / sigma`` (no ``(n, K, d)`` temporary), scaled per class,
eigen-decomposed, and mapped back to the original units exactly. Directions
whose eigenvalue is below ``_RANK_RTOL`` times the largest, and for unpenalized
fits on labels a direction along which the data are (quasi-)separated (found
by a linear program, Albert and Anderson 1984), are not identified: every
quantity that depends on them is NaN, with a warning.
"""

import sys
import warnings

import numpy as np
import scipy.sparse as sp
from scipy import linalg, optimize, stats
from sklearn.utils.validation import check_is_fitted

from sksoftmax._loss import softmax
from sksoftmax._objective import _BLOCK_ELEMENTS, column_scaling
from sksoftmax._softmax import SoftmaxClassifier, _reject_strings
from sksoftmax._targets import fit_weights, prepare_targets

#: Largest number of parameters ``(n_classes - 1) * (n_features + 1)`` for
#: which :func:`inference` builds the Hessian (a dense square matrix of this
#: size: 800 MB in float64 at the limit).
MAX_PARAMS = 10_000

# Eigenvalues of the class-scaled Hessian below this fraction of the largest
# count as zero (directions not identified by the data).
_RANK_RTOL = 1e-10
# Below this ratio of the smallest to the largest eigenvalue, unpenalized fits
# on labels are checked for separation (along a separating direction the
# curvature vanishes as the fit proceeds).
_SEPARATION_CHECK_RTOL = 1e-3
# A null direction makes an entry unidentified when its (normalized) overlap
# with the entry's functional exceeds this.
_OVERLAP_TOL = 1e-6
# Warn when the fit is this many standard errors (at most) from the optimum.
_CONVERGENCE_SE = 0.1
# Rows x columns of the per-block products of the Hessian (1 MB in float64).
_CACHE_ELEMENTS = 2**17
# Dask inputs are computed into memory up to this many elements.
_MAX_DASK_ELEMENTS = 2**27

_COV_TYPES = ("nonrobust", "HC0")


class InferenceResult:
    """Estimates, standard errors and tests of the contrasts of a softmax fit.

    Returned by :func:`inference`; not meant to be built directly. Every array
    has statsmodels ``MNLogit``'s layout: one row per variable (the intercept
    first, when fitted, then the features), one column per class other than
    the reference class, holding the contrast ``coef[k] - coef[ref]``.

    Parameters
    ----------
    params : ndarray of shape (n_variables, n_classes - 1)
        Fitted contrasts.
    cov : ndarray of shape (n_params, n_params)
        Covariance of ``params.T.ravel()`` (class by class).
    names : list of str
        Variable names (rows of ``params``).
    classes : ndarray of shape (n_classes - 1,)
        Non-reference classes (columns of ``params``).
    reference_class : object
        The reference class.
    cov_type : str
        ``"nonrobust"`` or ``"HC0"``.
    C : float
        The fit's ``C`` (``np.inf``: no penalty).

    Attributes
    ----------
    params : ndarray of shape (n_variables, n_classes - 1)
        Fitted contrasts ``coef[k] - coef[ref]`` (intercept row first).
    cov : ndarray of shape (n_params, n_params)
        Covariance of the flattened params ``params.T.ravel()``; NaN rows and
        columns for contrasts that the data do not identify.
    bse : ndarray of shape (n_variables, n_classes - 1)
        Standard errors.
    zvalues : ndarray of shape (n_variables, n_classes - 1)
        ``params / bse``.
    pvalues : ndarray of shape (n_variables, n_classes - 1)
        Two-sided p-values of ``z`` under the standard normal distribution.
    names : list of str
        Variable names: ``"const"`` for the intercept, then
        ``feature_names_in_`` or ``x0, x1, ...``.
    classes : ndarray of shape (n_classes - 1,)
        The classes of the columns.
    reference_class : object
        The class every contrast is taken against.
    cov_type : str
        How ``cov`` was computed.
    C : float
        The penalty of the fit the intervals are conditional on.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_wine
    >>> from sklearn.preprocessing import scale
    >>> from sksoftmax import SoftmaxClassifier, inference
    >>> X, y = load_wine(return_X_y=True)
    >>> X = scale(X[:, :3])
    >>> clf = SoftmaxClassifier(C=np.inf, tol=1e-10).fit(X, y)
    >>> res = inference(clf, X, y)
    >>> res.params.shape, res.bse.shape, res.conf_int().shape
    ((4, 2), (4, 2), (4, 2, 2))
    >>> bool(np.all(res.bse > 0))
    True
    """

    def __init__(self, params, cov, names, classes, reference_class, cov_type, C):
        self.params = params
        self.cov = cov
        self.names = names
        self.classes = classes
        self.reference_class = reference_class
        self.cov_type = cov_type
        self.C = C
        var = np.diag(cov).reshape(params.shape[1], params.shape[0]).T
        self.bse = np.sqrt(np.maximum(var, 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            self.zvalues = params / self.bse
        self.pvalues = 2.0 * stats.norm.sf(np.abs(self.zvalues))

    def conf_int(self, alpha=0.05):
        """Wald confidence intervals ``params -/+ z_(1 - alpha/2) * bse``.

        Parameters
        ----------
        alpha : float, default=0.05
            One minus the confidence level, in ``(0, 1)``.

        Returns
        -------
        intervals : ndarray of shape (n_variables, n_classes - 1, 2)
            Lower and upper bounds (NaN where not identified).
        """
        if not (isinstance(alpha, int | float | np.floating) and 0 < alpha < 1):
            raise ValueError(f"alpha must be a number in (0, 1); got {alpha!r}.")
        half = stats.norm.ppf(1.0 - alpha / 2.0) * self.bse
        return np.stack([self.params - half, self.params + half], axis=-1)

    def summary(self, alpha=0.05):
        """A table of the estimates, one block per non-reference class.

        Parameters
        ----------
        alpha : float, default=0.05
            One minus the confidence level of the intervals.

        Returns
        -------
        summary : Summary
            Prints as a text table; ``summary.to_frame()`` gives a pandas
            DataFrame (when pandas is installed).
        """
        return Summary(self, alpha)


class Summary:
    """Text table of an :class:`InferenceResult`, convertible to pandas.

    Parameters
    ----------
    result : InferenceResult
        The result to tabulate.
    alpha : float
        One minus the confidence level of the intervals.
    """

    def __init__(self, result, alpha):
        self.result = result
        self.alpha = alpha
        self._ci = result.conf_int(alpha)

    def _columns(self):
        lo, hi = self.alpha / 2, 1 - self.alpha / 2
        return ["coef", "std err", "z", "P>|z|", f"[{lo:g}", f"{hi:g}]"]

    def __str__(self):
        res = self.result
        penalty = "none (C=inf)" if np.isinf(res.C) else f"L2, C={res.C:g}"
        width = max(12, *(len(str(n)) for n in res.names))
        head = f"{'':<{width}}" + "".join(f"{c:>11}" for c in self._columns())
        lines = [
            f"Softmax regression: contrasts against class {res.reference_class}",
            f"cov_type: {res.cov_type}    penalty: {penalty}",
        ]
        for a, cls in enumerate(res.classes):
            lines += ["=" * len(head), f"class {cls} vs {res.reference_class}",
                      head, "-" * len(head)]
            for v, name in enumerate(res.names):
                row = (res.params[v, a], res.bse[v, a], res.zvalues[v, a],
                       res.pvalues[v, a], *self._ci[v, a])
                lines.append(f"{name!s:<{width}}"
                             + "".join(f"{x:>11.4g}" for x in row))
        lines.append("=" * len(head))
        return "\n".join(lines)

    def __repr__(self):
        return str(self)

    def to_frame(self):
        """The table as a pandas DataFrame indexed by (class, variable).

        Returns
        -------
        frame : pandas.DataFrame
            Columns coef, std err, z, P>|z| and the interval bounds.
        """
        import pandas as pd

        res = self.result
        index = pd.MultiIndex.from_product(
            [list(res.classes), list(res.names)], names=["class", "variable"]
        )
        data = np.column_stack([
            a.T.ravel() for a in (res.params, res.bse, res.zvalues, res.pvalues,
                                  self._ci[..., 0], self._ci[..., 1])
        ])
        return pd.DataFrame(data, index=index, columns=self._columns())


def inference(estimator, X, y, *, sample_weight=None, cov_type="nonrobust",
              reference_class=None):
    """Standard errors, confidence intervals and p-values of a softmax fit.

    Computes the covariance of the contrasts ``coef[k] - coef[ref]`` (and of
    the intercepts) of a fitted :class:`SoftmaxClassifier` against a
    reference class, in the layout of statsmodels ``MNLogit``. With
    ``C=np.inf`` the result is the usual maximum-likelihood inference (equal
    to ``MNLogit``'s); with a finite ``C`` it is conditional on the penalty
    (see the :ref:`User Guide <inference>`).

    Parameters
    ----------
    estimator : SoftmaxClassifier or Pipeline
        A fitted :class:`SoftmaxClassifier`, or a fitted
        :class:`~sklearn.pipeline.Pipeline` whose last step is one (``X`` is
        then transformed by the preceding steps, and the variables are the
        inputs of the last step).
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The data the estimator was fitted on.
    y : array-like of shape (n_samples,) or (n_samples, n_classes)
        The labels (or soft targets) it was fitted on.
    sample_weight : array-like of shape (n_samples,), default=None
        The sample weights of the fit. They count as frequency weights:
        integer weights give the same result as repeated rows (for
        ``"nonrobust"``). Class weights and the ignore label are applied as
        in the fit; ignored samples do not count.
    cov_type : {"nonrobust", "HC0"}, default="nonrobust"
        ``"nonrobust"``: the inverse of the (penalized) Hessian.
        ``"HC0"``: the sandwich ``H^-1 B H^-1`` with
        ``B = sum_i s_i^2 g_i g_i^T`` (``g_i`` the score of sample ``i``,
        ``s_i`` its weight): robust to a misspecified model, with each row an
        independent unit.
    reference_class : object, default=None
        The class the contrasts are taken against; None means
        ``classes_[0]`` (statsmodels' choice).

    Returns
    -------
    result : InferenceResult
        ``params``, ``bse``, ``zvalues``, ``pvalues``, ``conf_int()``,
        ``cov`` and ``summary()``.

    Raises
    ------
    ValueError
        For a penalty that is not smooth (``l1_ratio > 0``) or a constrained
        fit, ``"nonrobust"`` with soft targets or label smoothing, more than
        ``MAX_PARAMS`` (10,000) parameters, or data that do not match the fit.

    Warns
    -----
    UserWarning
        When some contrasts are not identified (collinear columns, separated
        classes without a penalty): their standard errors, intervals, p-values
        and covariances are NaN. Also when the fit is too far from the optimum
        for the standard errors to be meaningful.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_wine
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sksoftmax import SoftmaxClassifier, inference
    >>> X, y = load_wine(return_X_y=True)
    >>> X = X[:, [0, 9]]  # alcohol, color intensity
    >>> pipe = make_pipeline(StandardScaler(), SoftmaxClassifier(C=np.inf, tol=1e-10))
    >>> res = inference(pipe.fit(X, y), X, y)
    >>> res.names, res.classes.tolist(), res.reference_class
    (['const', 'x0', 'x1'], [1, 2], np.int64(0))
    >>> res.pvalues.round(4)
    array([[0.1837, 0.5025],
           [0.    , 0.    ],
           [0.0029, 0.    ]])
    """
    if cov_type not in _COV_TYPES:
        raise ValueError(
            f"cov_type must be one of {list(_COV_TYPES)}; got {cov_type!r}."
        )
    clf, X, input_names = _final_estimator(estimator, X)
    C_fit, l1_ratio = _fitted_penalty(clf)
    _check_smooth(clf, C_fit, l1_ratio)
    if _is_dask(y):
        y = _dask_to_numpy(y, "y")
    if _is_dask(sample_weight):
        sample_weight = _dask_to_numpy(sample_weight, "sample_weight")
    y, sample_weight = _to_numpy(y), _to_numpy(sample_weight)
    coef = clf.coef_.toarray() if sp.issparse(clf.coef_) else clf.coef_
    coef = np.asarray(_to_numpy(coef), dtype=np.float64)
    intercept = np.asarray(_to_numpy(clf.intercept_), dtype=np.float64)
    classes = np.asarray(_to_numpy(clf.classes_))
    n_classes, n_features = coef.shape
    fit_intercept = bool(clf.fit_intercept)
    n_vars = n_features + fit_intercept
    n_params = (n_classes - 1) * n_vars
    if n_params > MAX_PARAMS:
        raise ValueError(
            f"inference builds a dense Hessian of (n_classes - 1) * "
            f"(n_features + fit_intercept) = {n_params} rows, more than "
            f"MAX_PARAMS={MAX_PARAMS}. Select fewer features or classes."
        )
    X = clf._check_X(X)
    targets = prepare_targets(
        y, n_samples=X.shape[0], ignore_label=clf.ignore_label,
        label_smoothing=clf.label_smoothing,
    )
    _check_classes(targets, classes)
    if cov_type == "nonrobust" and (targets.is_soft or clf.label_smoothing):
        raise ValueError(
            "cov_type='nonrobust' assumes the labels are draws from the model; "
            "with soft targets or label_smoothing the fit minimizes a "
            "cross-entropy that is no likelihood of the data. Use "
            "cov_type='HC0': the sandwich is valid for any such estimating "
            "equation (see the User Guide)."
        )
    ref = _reference_index(reference_class, classes)
    # Weights exactly as in the fit, divided by a power of two `scale` (with C
    # multiplied by it); the covariance is divided by it at the end.
    weights, scale = fit_weights(targets, sample_weight, X.shape[0],
                                 clf.class_weight, 1.0)
    with np.errstate(over="ignore"):
        C = C_fit * scale
    mu, sigma = column_scaling(X, weights, fit_intercept)
    others = np.array([k for k in range(n_classes) if k != ref])

    hess, meat, grad = _accumulate(
        X, targets, weights, coef, intercept, others, mu, sigma, fit_intercept,
        robust=cov_type == "HC0",
    )
    # The fitted contrasts, one row per non-reference class (original units).
    D = np.hstack([(intercept[others] - intercept[ref])[:, None],
                   coef[others] - coef[ref]]) if fit_intercept else (
        coef[others] - coef[ref])
    feat = slice(1, None) if fit_intercept else slice(None)
    if np.isfinite(C):
        M = np.eye(n_classes - 1) - 1.0 / n_classes
        pen = np.zeros(n_vars)
        factor = _penalty_factor(clf, n_features)
        pen[feat] = factor / (C * sigma**2)
        hess += np.kron(M, np.diag(pen))
        # Penalty gradient in original units is pf (D - mean D) / C per
        # feature, i.e. T^T of it in standardized units: pf W / (C sigma).
        W = np.vstack([D, np.zeros(n_vars)])
        W = W - W.mean(axis=0)
        gpen = np.zeros((n_classes - 1, n_vars))
        gpen[:, feat] = factor * W[:-1, feat] / (C * sigma)
        grad += gpen.ravel()

    find_separation = None
    if not np.isfinite(C) and not targets.is_soft and not clf.label_smoothing:
        def find_separation():
            return _separating_direction(X, targets.values, weights, classes, ref,
                                         others, mu, sigma, fit_intercept)
    cov_std, null, step, separated = _invert(hess, meat, grad, find_separation,
                                             n_classes - 1)
    T = _to_original(mu, sigma, fit_intercept)
    big_T = np.kron(np.eye(n_classes - 1), T)
    # H scales like the weights and B like their square: the sandwich is the
    # same for the rescaled weights, the inverse Hessian is `scale` times it.
    cov = big_T @ cov_std @ big_T.T
    if cov_type == "nonrobust":
        cov /= scale
    unidentified = _unidentified(big_T, null)
    names = _variable_names(clf, input_names, n_features, fit_intercept)
    if unidentified.any():
        cov[unidentified, :] = np.nan
        cov[:, unidentified] = np.nan
        cause = ("the data separate the classes along some direction: without a "
                 "penalty the maximum-likelihood estimate is at infinity"
                 if separated else
                 "the Hessian is singular (collinear or constant columns)")
        warnings.warn(
            f"{int(unidentified.sum())} of {n_params} contrasts are not "
            f"identified ({_entry_names(unidentified, names, classes[others])}): "
            f"{cause}. Their standard errors, intervals and p-values are NaN. "
            "Drop collinear columns, or use a finite C.",
            UserWarning, stacklevel=2,
        )
    se_std = np.sqrt(np.maximum(np.diag(cov_std), 0.0))
    far = np.abs(step) > _CONVERGENCE_SE * se_std
    far &= ~_unidentified(np.eye(n_params), null)
    if far.any():
        warnings.warn(
            "The fit stopped up to "
            f"{float(np.max(np.abs(step[far]) / se_std[far])):.2g} standard "
            "errors from the optimum: refit with a smaller tol (and larger "
            "max_iter) before reading the standard errors.",
            UserWarning, stacklevel=2,
        )
    params = D.T
    return InferenceResult(params, cov, names, classes[others], classes[ref],
                           cov_type, C_fit)


def _final_estimator(estimator, X):
    """The SoftmaxClassifier, X transformed by a pipeline's steps, input names."""
    if _is_dask(X):
        X = _dask_to_numpy(X, "X")
    X = _to_numpy(X)
    names = None
    # Imported here: importing sksoftmax must not import sklearn.pipeline
    # (which needs scikit-learn's callback module where it exists).
    from sklearn.pipeline import Pipeline

    if isinstance(estimator, Pipeline):
        head, clf = estimator[:-1], estimator[-1]
        if isinstance(clf, SoftmaxClassifier):
            check_is_fitted(clf)
            if len(head):
                X = head.transform(X)
                try:
                    names = list(head.get_feature_names_out())
                except (AttributeError, ValueError, TypeError):
                    names = None
        estimator = clf
    if not isinstance(estimator, SoftmaxClassifier):
        raise ValueError(
            "estimator must be a fitted SoftmaxClassifier or a Pipeline ending in "
            f"one; got {type(estimator).__name__}."
        )
    check_is_fitted(estimator)
    return estimator, _reject_strings(_to_numpy(X)), names


def _penalty_factor(clf, n_features):
    """Per-feature multipliers of the L2 penalty (``penalty_factor``, or 1)."""
    factor = getattr(clf, "penalty_factor", None)
    if factor is None:
        return np.ones(n_features)
    return np.broadcast_to(np.asarray(factor, dtype=np.float64), (n_features,))


def _fitted_penalty(clf):
    """``(C, l1_ratio)`` the model was fitted with; SoftmaxClassifierCV's choice."""
    if hasattr(clf, "C_"):
        if not clf.refit:
            raise ValueError(
                "inference needs a model fitted at one C; this "
                "SoftmaxClassifierCV has refit=False, so its coef_ averages the "
                "folds' solutions and is the optimum of no objective. Use "
                "refit=True."
            )
        return float(clf.C_), float(clf.l1_ratio_)
    return float(clf.C), getattr(clf, "l1_ratio", 0.0)


def _check_smooth(clf, C, l1_ratio):
    """Refuse fits whose objective is not twice differentiable at the optimum."""
    # With C=inf there is no penalty, whatever l1_ratio.
    if l1_ratio is not None and l1_ratio > 0 and np.isfinite(C):
        raise ValueError(
            f"inference needs a smooth objective; this fit has l1_ratio="
            f"{l1_ratio!r}. With an L1 penalty the estimate sits on kinks (exact "
            "zeros) and the Hessian-based asymptotics do not hold. Refit with "
            "l1_ratio=0 (L2 or no penalty)."
        )
    for name in ("coef_bounds", "bounds", "lower_bounds", "upper_bounds",
                 "positive"):
        value = getattr(clf, name, None)
        if value is not None and value is not False:
            raise ValueError(
                f"inference does not support constrained fits ({name}={value!r}): "
                "at an active bound the estimate is not asymptotically normal. "
                f"Refit without {name}."
            )


def _is_dask(a):
    dask = sys.modules.get("dask")
    return dask is not None and a is not None and dask.is_dask_collection(a)


def _dask_to_numpy(a, name):
    size = int(np.prod([s for s in a.shape if s == s]))
    if any(s != s for s in a.shape) or size > _MAX_DASK_ELEMENTS:
        raise ValueError(
            f"{name} is a Dask collection of {size} elements (or of unknown "
            f"size); inference computes it into memory only up to "
            f"{_MAX_DASK_ELEMENTS}. Pass a NumPy array (or a sample of rows)."
        )
    return np.asarray(a.compute())


def _to_numpy(a):
    """NumPy copy of an array-API array (PyTorch, CuPy, ...); others unchanged."""
    if a is None or isinstance(a, np.ndarray | list | tuple) or sp.issparse(a):
        return a
    if hasattr(a, "__array_namespace__") or type(a).__module__.startswith("torch"):
        try:
            from sklearn.utils._array_api import _convert_to_numpy, get_namespace

            return _convert_to_numpy(a, get_namespace(a)[0])
        except Exception:  # pragma: no cover - depends on the library
            try:
                return np.asarray(a)
            except Exception as exc:
                raise ValueError(
                    f"Cannot convert {type(a).__name__} to NumPy for inference; "
                    "move the data to the CPU and pass NumPy arrays."
                ) from exc
    return a


def _check_classes(targets, classes):
    if len(targets.classes) != len(classes) or not np.all(
        np.asarray(targets.classes) == classes
    ):
        raise ValueError(
            f"y has the classes {targets.classes.tolist()!r}, but the estimator "
            f"was fitted on {classes.tolist()!r}: pass the data of the fit."
        )


def _reference_index(reference_class, classes):
    if reference_class is None:
        return 0
    hits = np.flatnonzero(classes == reference_class)
    if len(hits) != 1:
        raise ValueError(
            f"reference_class={reference_class!r} is not one of the classes "
            f"{classes.tolist()!r}."
        )
    return int(hits[0])


def _design_block(X, rows, mu, sigma, fit_intercept):
    """Standardized rows ``[1, (x - mu) / sigma]`` of a block, float64, dense."""
    block = X[rows]
    block = block.toarray() if sp.issparse(block) else np.asarray(block)
    U = (block.astype(np.float64) - mu) / sigma
    if fit_intercept:
        U = np.hstack([np.ones((U.shape[0], 1)), U])
    return U


def _accumulate(X, targets, weights, coef, intercept, others, mu, sigma,
                fit_intercept, robust):
    """Data Hessian, meat and gradient in standardized units, over row blocks.

    Returns ``(H, B, g)`` for the flat contrast vector (class by class): ``H =
    sum_i s_i kron(diag(p_i) - p_i p_i^T, u_i u_i^T)`` restricted to the
    non-reference classes, ``B = sum_i s_i^2 r_i r_i^T`` with
    ``r_i = (p_i - t_i) kron u_i`` (None unless ``robust``) and
    ``g = sum_i s_i r_i``.

    The block ``(a, b)`` of ``H`` is ``U^T diag(w_ab) U`` with
    ``w_ab = s p_a (delta_ab - p_b)``, which is nonnegative for ``a = b`` and
    nonpositive otherwise: so each is ``+-V^T V`` with ``V = sqrt(|w_ab|) U``, a
    symmetric rank-k update (half the work of a general product). Blocks of
    rows are small enough for ``V`` to stay in cache.
    """
    n_classes = coef.shape[0]
    n_others = len(others)
    n_vars = coef.shape[1] + fit_intercept
    n_params = n_others * n_vars
    first, second = np.triu_indices(n_others)
    H = np.zeros((n_others, n_others, n_vars, n_vars))
    B = np.zeros((n_params, n_params)) if robust else None
    g = np.zeros((n_others, n_vars))
    sign = np.where(first == second, 1.0, -1.0)
    # Rows per block: (rows, n_vars) products of about 1 MB (cache); the
    # sandwich's (rows, n_params) scores are bounded like the objective's.
    step = max(1, min(_CACHE_ELEMENTS // max(n_vars, n_classes, 1),
                      _BLOCK_ELEMENTS // max(n_params, 1)))
    for start in range(0, X.shape[0], step):
        rows = slice(start, min(start + step, X.shape[0]))
        s = weights[rows]
        keep = s > 0
        if not keep.any():
            continue
        U = _design_block(X, rows, mu, sigma, fit_intercept)[keep]
        s = s[keep]
        Z = np.asarray(X[rows][keep] @ coef.T) + intercept
        P = softmax(Z)[:, others]
        roots = np.sqrt(np.abs(s[:, None] * P[:, first]
                               * ((first == second) - P[:, second])))
        for pair in range(len(first)):
            V = roots[:, pair:pair + 1] * U
            H[first[pair], second[pair]] += sign[pair] * (V.T @ V)
        T = _target_rows(targets, rows, keep, n_classes)[:, others]
        residual = s[:, None] * (P - T)
        g += residual.T @ U
        if robust:
            R = (residual[:, :, None] * U[:, None, :]).reshape(len(s), n_params)
            B += R.T @ R
    H[second, first] = H[first, second].transpose(0, 2, 1)
    return H.transpose(0, 2, 1, 3).reshape(n_params, n_params), B, g.ravel()


def _target_rows(targets, rows, keep, n_classes):
    """Target probabilities of a block (label smoothing applied)."""
    values = targets.values[rows][keep]
    if targets.is_soft:
        return values
    eps = targets.kernel_smoothing
    T = np.full((len(values), n_classes), eps / n_classes)
    T[np.arange(len(values)), values] += 1.0 - eps
    return T


def _separating_direction(X, codes, weights, classes, ref, others, mu, sigma,
                          fit_intercept):
    """A direction (standardized units) along which the labels are separated.

    Albert and Anderson (1984): the unpenalized multinomial MLE exists iff no
    contrast direction ``delta`` (``delta_ref = 0``) has
    ``(delta_{y_i} - delta_k) . u_i >= 0`` for every sample and class, with
    at least one inequality strict. A linear program maximizes the sum of
    those margins in the box ``|delta| <= 1``; a verified positive optimum is
    such a direction. Returns None when the MLE exists.
    """
    keep = np.flatnonzero(weights > 0)
    U = _design_block(X, keep, mu, sigma, fit_intercept)
    q = U.shape[1]
    n_classes = len(classes)
    pos = np.full(n_classes, -1)
    pos[others] = np.arange(len(others))
    y = codes[keep]
    rows, cols, vals = [], [], []
    row = 0
    idx = np.arange(q)
    for k in range(n_classes):
        # Constraint rows for the samples not of class k: (delta_y - delta_k) u.
        samples = np.flatnonzero(y != k)
        r = row + np.arange(len(samples))
        if k != ref:
            rows.append(np.repeat(r, q))
            cols.append(pos[k] * q + np.tile(idx, len(samples)))
            vals.append(-U[samples].ravel())
        own = pos[y[samples]]
        mine = own >= 0
        rows.append(np.repeat(r[mine], q))
        cols.append((own[mine][:, None] * q + idx).ravel())
        vals.append(U[samples[mine]].ravel())
        row += len(samples)
    A = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows),
                                              np.concatenate(cols))),
                      shape=(row, len(others) * q))
    c = -np.asarray(A.sum(axis=0)).ravel()
    res = optimize.linprog(c, A_ub=-A, b_ub=np.zeros(row), bounds=(-1, 1),
                           method="highs")
    if res.status != 0 or -res.fun <= 1e-6:
        return None
    margins = A @ res.x
    top = float(np.max(margins))
    if top <= 1e-6 or float(np.min(margins)) < -1e-8 * max(top, 1.0):
        return None  # pragma: no cover - a numerically doubtful optimum
    return res.x / np.linalg.norm(res.x)


def _invert(hess, meat, grad, find_separation, n_blocks):
    """Covariance in standardized units, the null basis and the Newton step.

    The Hessian is scaled per class (so that rare classes are not mistaken
    for null directions), projected off the null directions (eigenvalues
    below ``_RANK_RTOL`` times the largest, and a separating direction) and
    pseudo-inverted. ``find_separation`` (None: no check) runs only when the
    Hessian is ill-conditioned, as it is along a separating direction.
    """
    n_params = hess.shape[0]
    n_vars = n_params // n_blocks
    diag = np.diag(hess)
    # Per class scale: the square root of the mean diagonal of its block.
    block_scale = np.sqrt(np.maximum(diag.reshape(n_blocks, n_vars).mean(axis=1),
                                     np.finfo(float).tiny))
    c = np.repeat(block_scale, n_vars)
    Hs = hess / np.outer(c, c)
    Hs = (Hs + Hs.T) / 2
    lam, V = linalg.eigh(Hs)
    top = max(float(lam[-1]), np.finfo(float).tiny)
    null = V[:, lam <= _RANK_RTOL * top]
    separated = None
    if find_separation is not None and lam[0] <= _SEPARATION_CHECK_RTOL * top:
        separated = find_separation()
    if separated is not None:
        extra = separated * c
        null = np.column_stack([null, extra / np.linalg.norm(extra)])
    if null.shape[1]:
        null = linalg.orth(null)
        proj = np.eye(n_params) - null @ null.T
        lam, V = linalg.eigh(proj @ Hs @ proj)
    keep = lam > _RANK_RTOL * top
    Vk = V[:, keep]
    inv = (Vk / lam[keep]) @ Vk.T
    step = inv @ (grad / c) / c
    if meat is not None:
        inv = inv @ (meat / np.outer(c, c)) @ inv
    cov = inv / np.outer(c, c)
    # Null directions back in standardized (unscaled) coordinates: the
    # functional f^T beta' is identified iff (f / c) is orthogonal to them.
    return cov, (null, c), step, separated is not None


def _to_original(mu, sigma, fit_intercept):
    """``T`` with ``D = T beta'`` per class (beta' in standardized units)."""
    if not fit_intercept:
        return np.diag(1.0 / sigma)
    q = len(sigma) + 1
    T = np.zeros((q, q))
    T[0, 0] = 1.0
    T[0, 1:] = -mu / sigma
    T[1:, 1:] = np.diag(1.0 / sigma)
    return T


def _unidentified(big_T, null):
    """Entries of ``big_T @ beta'`` that depend on a null direction."""
    basis, c = null
    n = big_T.shape[0]
    if basis.shape[1] == 0:
        return np.zeros(n, dtype=bool)
    F = big_T / c  # functional of each entry in the class-scaled coordinates
    overlap = np.linalg.norm(F @ basis, axis=1)
    norms = np.linalg.norm(F, axis=1)
    return overlap > _OVERLAP_TOL * norms


def _variable_names(clf, input_names, n_features, fit_intercept):
    names = getattr(clf, "feature_names_in_", None)
    if names is not None:
        names = [str(n) for n in names]
    elif input_names is not None and len(input_names) == n_features:
        names = [str(n) for n in input_names]
    else:
        names = [f"x{j}" for j in range(n_features)]
    return (["const"] if fit_intercept else []) + names


def _entry_names(mask, names, classes):
    labels = [f"{cls}:{name}" for cls in classes for name in names]
    shown = [lab for lab, m in zip(labels, mask, strict=True) if m]
    return ", ".join(shown[:6]) + (", ..." if len(shown) > 6 else "")
