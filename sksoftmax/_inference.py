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

The steps of :func:`inference`: prepare (checks, the fit's weights and
contrasts), polish (Newton steps on the penalized objective from the fitted
contrasts to its rounding floor, so that the results are the optimum's
whatever ``tol`` the fit used), covariance, warnings.

Numerics: the Hessian is accumulated over row blocks on standardized columns
``u = (x - mu) / sigma`` (no ``(n, K, d)`` temporary), scaled to unit
diagonal, eigen-decomposed, and mapped back to the original units exactly.
For unpenalized fits on labels, a linear program finds the directions along
which the data are (quasi-)separated (Albert and Anderson 1984); they are
projected out. A contrast is not identified when its variance comes mostly
from those directions or from directions of nearly zero curvature (collinear
columns): it is NaN, with a warning, and the other contrasts keep theirs.
"""

import sys
import warnings

import numpy as np
import scipy.sparse as sp
from scipy import linalg, optimize, stats
from sklearn.utils.validation import check_is_fitted

from sksoftmax._loss import log_softmax
from sksoftmax._objective import _BLOCK_ELEMENTS, column_scaling
from sksoftmax._softmax import SoftmaxClassifier, _reject_strings
from sksoftmax._targets import fit_weights, prepare_targets

#: Largest number of parameters ``(n_classes - 1) * (n_features + 1)`` for
#: which :func:`inference` builds the Hessian (a dense square matrix of this
#: size: 800 MB in float64 at the limit).
MAX_PARAMS = 10_000

# Identification, on the Hessian in correlation form (unit diagonal, see
# _Spectrum): a combination of parameters whose curvature is below sqrt(eps)
# (1.5e-8) of theirs alone, i.e. a column explained by others up to a residual
# of eps**(1/4) = 1.2e-4 of its norm, counts as collinear: its standard error
# would be 8,000 times theirs.
_RANK_RTOL = float(np.sqrt(np.finfo(float).eps))
# Eigenvalues below this many ulps times the size and the largest eigenvalue
# are rounding noise (an exact zero); the pseudo-inverse leaves them out.
_NOISE_ULPS = 100
# Diagonal entries of the Hessian below this fraction of the largest (constant
# columns) are raised to it before the scaling to unit diagonal.
_ZERO_RTOL = 1e-16
# Newton steps stop when the decrement is below this many ulps of the
# objective (the rounding floor), or after _MAX_NEWTON steps.
_FLOOR_ULPS = 16
_MAX_NEWTON = 50
# Unpenalized fits are checked for separation (a linear program, costly on
# large data) when some sample's own class has a fitted probability above
# 1 - _SATURATED: along a separating direction those probabilities tend to 1.
_SATURATED = 1e-6
# A fit that converged and recorded no loss_ may leave the objective this many
# times its tol (relative) above the optimum before inference calls the data
# another's (default fits were measured 500 times tol above it).
_MISMATCH = 1000
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
    labelled : bool, default=False
        Give ``params``, ``bse``, ``zvalues``, ``pvalues``, ``cov`` and
        ``conf_int()`` as pandas DataFrames labelled by variable and class
        (as statsmodels does for DataFrame input).

    Attributes
    ----------
    params : ndarray or DataFrame of shape (n_variables, n_classes - 1)
        Fitted contrasts ``coef[k] - coef[ref]`` (intercept row first). A
        DataFrame (index: variable names, columns: classes) when ``X`` was one.
    cov : ndarray or DataFrame of shape (n_params, n_params)
        Covariance of the flattened params ``params.T.ravel()``; NaN rows and
        columns for contrasts that the data do not identify. Labelled by
        (class, variable) when ``X`` was a DataFrame.
    bse : ndarray or DataFrame of shape (n_variables, n_classes - 1)
        Standard errors.
    zvalues : ndarray or DataFrame of shape (n_variables, n_classes - 1)
        ``params / bse``.
    pvalues : ndarray or DataFrame of shape (n_variables, n_classes - 1)
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

    def __init__(self, params, cov, names, classes, reference_class, cov_type, C,
                 labelled=False):
        self.names = names
        self.classes = classes
        self.reference_class = reference_class
        self.cov_type = cov_type
        self.C = C
        self._labelled = labelled
        var = np.diag(cov).reshape(params.shape[1], params.shape[0]).T
        bse = np.sqrt(np.maximum(var, 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            zvalues = params / bse
        pvalues = 2.0 * stats.norm.sf(np.abs(zvalues))
        # Plain arrays for the computations; the public attributes may be frames.
        self._arrays = {"params": params, "bse": bse, "zvalues": zvalues,
                        "pvalues": pvalues}
        for name, value in self._arrays.items():
            setattr(self, name, self._label(value))
        self.cov = cov
        if labelled:
            import pandas as pd

            index = self._index()
            self.cov = pd.DataFrame(cov, index=index, columns=index)

    def _label(self, table):
        """A (variables, classes) array as a labelled DataFrame, if asked for."""
        if not self._labelled:
            return table
        import pandas as pd

        return pd.DataFrame(table, index=list(self.names), columns=list(self.classes))

    def _index(self):
        import pandas as pd

        return pd.MultiIndex.from_product(
            [list(self.classes), list(self.names)], names=["class", "variable"]
        )

    def conf_int(self, alpha=0.05):
        """Wald confidence intervals ``params -/+ z_(1 - alpha/2) * bse``.

        Parameters
        ----------
        alpha : float, default=0.05
            One minus the confidence level, in ``(0, 1)``.

        Returns
        -------
        intervals : ndarray of shape (n_variables, n_classes - 1, 2) or DataFrame
            Lower and upper bounds (NaN where not identified). When ``X`` was a
            DataFrame: a DataFrame indexed by (class, variable) with columns
            ``lower`` and ``upper``, as statsmodels gives.
        """
        if not (isinstance(alpha, int | float | np.floating) and 0 < alpha < 1):
            raise ValueError(f"alpha must be a number in (0, 1); got {alpha!r}.")
        params = self._arrays["params"]
        half = stats.norm.ppf(1.0 - alpha / 2.0) * self._arrays["bse"]
        intervals = np.stack([params - half, params + half], axis=-1)
        if not self._labelled:
            return intervals
        import pandas as pd

        return pd.DataFrame(intervals.transpose(1, 0, 2).reshape(-1, 2),
                            index=self._index(), columns=["lower", "upper"])

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
        params = result._arrays["params"]
        half = stats.norm.ppf(1.0 - alpha / 2.0) * result._arrays["bse"]
        self._ci = np.stack([params - half, params + half], axis=-1)

    def _columns(self):
        lo, hi = self.alpha / 2, 1 - self.alpha / 2
        return ["coef", "std err", "z", "P>|z|", f"[{lo:g}", f"{hi:g}]"]

    def __str__(self):
        res, a_ = self.result, self.result._arrays
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
                row = (a_["params"][v, a], a_["bse"][v, a], a_["zvalues"][v, a],
                       a_["pvalues"][v, a], *self._ci[v, a])
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

        res, a_ = self.result, self.result._arrays
        data = np.column_stack([
            a.T.ravel() for a in (a_["params"], a_["bse"], a_["zvalues"],
                                  a_["pvalues"], self._ci[..., 0], self._ci[..., 1])
        ])
        return pd.DataFrame(data, index=res._index(), columns=self._columns())


def inference(estimator, X, y, *, sample_weight=None, cov_type="nonrobust",
              reference_class=None):
    """Standard errors, confidence intervals and p-values of a softmax fit.

    Covariance of the contrasts ``coef[k] - coef[ref]`` (intercepts included)
    against a reference class, in statsmodels ``MNLogit``'s layout: with
    ``C=np.inf`` ``MNLogit``'s numbers; with a finite ``C`` conditional on the
    penalty (see the :ref:`User Guide <inference>`). Newton steps first polish
    the fitted coefficients to the optimum, whatever the fit's ``tol``.

    Parameters
    ----------
    estimator : SoftmaxClassifier or Pipeline
        A fitted :class:`SoftmaxClassifier`, or a fitted
        :class:`~sklearn.pipeline.Pipeline` ending in one (``X`` then goes
        through the preceding steps).
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The data the estimator was fitted on. With a pandas DataFrame the
        results are DataFrames labelled by variable and class.
    y : array-like of shape (n_samples,) or (n_samples, n_classes)
        The labels (or soft targets) of the fit.
    sample_weight : array-like of shape (n_samples,), default=None
        The sample weights of the fit, as frequency weights (for
        ``"nonrobust"``, integer weights equal repeated rows). Class weights
        and the ignore label apply as in the fit.
    cov_type : {"nonrobust", "HC0"}, default="nonrobust"
        ``"nonrobust"``: the inverse of the (penalized) Hessian.
        ``"HC0"``: the sandwich ``H^-1 B H^-1`` with
        ``B = sum_i s_i^2 g_i g_i^T`` (``g_i`` the score of sample ``i``,
        ``s_i`` its weight): robust to misspecification, rows independent.
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
        For contrasts not identified (collinear columns, classes separated
        without a penalty): NaN standard errors, intervals and p-values. Also
        when ``coef_`` is over 0.1 standard error from the optimum.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_wine
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sksoftmax import SoftmaxClassifier, inference
    >>> X, y = load_wine(return_X_y=True)
    >>> X = X[:, [0, 9]]  # alcohol, color intensity
    >>> pipe = make_pipeline(StandardScaler(), SoftmaxClassifier(C=np.inf))
    >>> res = inference(pipe.fit(X, y), X, y)
    >>> res.names, res.classes.tolist(), res.reference_class
    (['const', 'x0', 'x1'], [1, 2], np.int64(0))
    >>> res.pvalues.round(4)
    array([[0.1837, 0.5025],
           [0.    , 0.    ],
           [0.0029, 0.    ]])
    """
    data = _prepare(estimator, X, y, sample_weight, cov_type, reference_class)
    polished = _polish(data)
    _check_same_data(data, polished)
    cov, unidentified = _covariance(data, polished)
    _warn(data, polished, cov, unidentified)
    return InferenceResult(polished.D.T, cov, data.names, data.classes[data.others],
                           data.classes[data.ref], cov_type, data.C_fit,
                           labelled=data.labelled)


class _Data:
    """What every step needs: the data, weights and penalty of the fit."""

    def __init__(self, **fields):
        self.__dict__.update(fields)
        self.n_others = len(self.others)
        self.n_vars = self.mu.shape[0] + self.fit_intercept
        self.n_params = self.n_others * self.n_vars
        # D = T beta' per class (beta' in standardized units), see _to_original.
        self.T = _to_original(self.mu, self.sigma, self.fit_intercept)


def _prepare(estimator, X, y, sample_weight, cov_type, reference_class):
    """Check the arguments; the fit's data, weights, penalty and contrasts."""
    if cov_type not in _COV_TYPES:
        raise ValueError(
            f"cov_type must be one of {list(_COV_TYPES)}; got {cov_type!r}."
        )
    labelled = hasattr(X, "columns") and hasattr(X, "iloc")
    clf, X, input_names = _final_estimator(estimator, X)
    C_fit, l1_ratio = _fitted_penalty(clf)
    _check_smooth(clf, C_fit, l1_ratio)
    y, sample_weight = _host(y, "y"), _host(sample_weight, "sample_weight")
    coef = clf.coef_.toarray() if sp.issparse(clf.coef_) else clf.coef_
    fit_dtype = np.dtype(getattr(_host(coef, "coef_"), "dtype", np.float64))
    coef = np.asarray(_host(coef, "coef_"), dtype=np.float64)
    intercept = np.asarray(_host(clf.intercept_, "intercept_"), dtype=np.float64)
    classes = np.asarray(_host(clf.classes_, "classes_"))
    n_classes, n_features = coef.shape
    fit_intercept = bool(clf.fit_intercept)
    n_params = (n_classes - 1) * (n_features + fit_intercept)
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
    others = np.array([k for k in range(n_classes) if k != ref])
    # Weights exactly as in the fit, divided by a power of two `scale` (with C
    # multiplied by it); the covariance is divided by it at the end.
    weights, scale = fit_weights(targets, sample_weight, X.shape[0],
                                 clf.class_weight)
    with np.errstate(over="ignore"):
        C = C_fit * scale
    mu, sigma = column_scaling(X, weights, fit_intercept)
    D = coef[others] - coef[ref]
    if fit_intercept:
        D = np.hstack([(intercept[others] - intercept[ref])[:, None], D])
    return _Data(
        clf=clf, X=X, targets=targets, weights=weights, scale=scale, C=C,
        C_fit=C_fit, classes=classes, ref=ref, others=others, mu=mu, sigma=sigma,
        fit_intercept=fit_intercept, factor=_penalty_factor(clf, n_features),
        robust=cov_type == "HC0", D0=D, fit_dtype=fit_dtype, labelled=labelled,
        names=_variable_names(clf, input_names, n_features, fit_intercept),
    )


def _host(a, name):
    """NumPy copy of a Dask or array-API array (see ``_array_api._to_host``).

    Dask collections are computed into memory only up to
    ``_MAX_DASK_ELEMENTS`` elements.
    """
    dask = sys.modules.get("dask")
    if dask is not None and a is not None and dask.is_dask_collection(a):
        size = int(np.prod([s for s in a.shape if s == s]))
        if any(s != s for s in a.shape) or size > _MAX_DASK_ELEMENTS:
            raise ValueError(
                f"{name} is a Dask collection of {size} elements (or of unknown "
                f"size); inference computes it into memory only up to "
                f"{_MAX_DASK_ELEMENTS}. Pass a NumPy array (or a sample of rows)."
            )
    if a is None or isinstance(a, np.ndarray) or sp.issparse(a):
        return a
    try:  # array-API support needs a scikit-learn that vendors array_api_compat
        from sksoftmax._array_api import _to_host
    except ImportError:  # an older scikit-learn: no array-API input to move
        return a
    return _to_host(a)


def _evaluate(data, D, hessian):
    """Penalized objective, gradient (and Hessian) at the contrasts ``D``.

    In sum units (the rescaled weights) and standardized coordinates
    ``beta'`` (``D = T beta'`` per class); see :func:`_accumulate`. With an L2
    penalty, the symmetric coefficients are the centred contrasts ``W``.
    Returns ``(f, g, H, B)``; ``H`` and ``B`` are None unless ``hessian``.
    """
    n_classes = data.n_others + 1
    full = np.zeros((n_classes, data.n_vars))
    full[data.others] = D
    intercept = full[:, 0] if data.fit_intercept else np.zeros(n_classes)
    coef = full[:, 1:] if data.fit_intercept else full
    f, H, B, g = _accumulate(data, coef, intercept, hessian)
    if np.isfinite(data.C):
        feat = slice(1, None) if data.fit_intercept else slice(None)
        W = full[:, feat] - full[:, feat].mean(axis=0)
        f += float(np.sum(data.factor * W**2)) / (2.0 * data.C)
        # Penalty gradient in original units is pf (D - mean D) / C per
        # feature, i.e. T^T of it in standardized units: pf W / (C sigma).
        gpen = np.zeros((data.n_others, data.n_vars))
        gpen[:, feat] = data.factor * W[data.others] / (data.C * data.sigma)
        g += gpen.ravel()
        if hessian:
            M = np.eye(data.n_others) - 1.0 / n_classes
            pen = np.zeros(data.n_vars)
            pen[feat] = data.factor / (data.C * data.sigma**2)
            H += np.kron(M, np.diag(pen))
    return f, g, H, B


def _accumulate(data, coef, intercept, hessian):
    """Data loss, Hessian, meat and gradient in standardized units, by row block.

    Returns ``(f, H, B, g)`` for the flat contrast vector (class by class):
    ``f = sum_i s_i CE_i``, ``H = sum_i s_i kron(diag(p_i) - p_i p_i^T,
    u_i u_i^T)`` restricted to the non-reference classes, ``B = sum_i s_i^2
    r_i r_i^T`` with ``r_i = (p_i - t_i) kron u_i`` (None unless robust) and
    ``g = sum_i s_i r_i``. ``H`` and ``B`` are None unless ``hessian``.

    The block ``(a, b)`` of ``H`` is ``U^T diag(w_ab) U`` with
    ``w_ab = s p_a (delta_ab - p_b)``, which is nonnegative for ``a = b`` and
    nonpositive otherwise: so each is ``+-V^T V`` with ``V = sqrt(|w_ab|) U``, a
    symmetric rank-k update (half the work of a general product). Blocks of
    rows are small enough for ``V`` to stay in cache.
    """
    X, others, n_o, n_v = data.X, data.others, data.n_others, data.n_vars
    n_params = data.n_params
    first, second = np.triu_indices(n_o)
    H = np.zeros((n_o, n_o, n_v, n_v)) if hessian else None
    B = np.zeros((n_params, n_params)) if hessian and data.robust else None
    g = np.zeros((n_o, n_v))
    f = 0.0
    sign = np.where(first == second, 1.0, -1.0)
    # Rows per block: (rows, n_vars) products of about 1 MB (cache); the
    # sandwich's (rows, n_params) scores are bounded like the objective's.
    step = max(1, min(_CACHE_ELEMENTS // max(n_v, n_o + 1, 1),
                      _BLOCK_ELEMENTS // max(n_params, 1)))
    for start in range(0, X.shape[0], step):
        rows = slice(start, min(start + step, X.shape[0]))
        s = data.weights[rows]
        keep = s > 0
        if not keep.any():
            continue
        U = _design_block(X, rows, data.mu, data.sigma, data.fit_intercept)[keep]
        s = s[keep]
        logP = log_softmax(np.asarray(X[rows][keep] @ coef.T) + intercept)
        T = _target_rows(data.targets, rows, keep, n_o + 1)
        f -= float(s @ np.sum(T * logP, axis=1))
        P, T = np.exp(logP)[:, others], T[:, others]
        residual = s[:, None] * (P - T)
        g += residual.T @ U
        if not hessian:
            continue
        roots = np.sqrt(np.abs(s[:, None] * P[:, first]
                               * ((first == second) - P[:, second])))
        for pair in range(len(first)):
            V = roots[:, pair:pair + 1] * U
            H[first[pair], second[pair]] += sign[pair] * (V.T @ V)
        if B is not None:
            R = (residual[:, :, None] * U[:, None, :]).reshape(len(s), n_params)
            B += R.T @ R
    if hessian:
        H[second, first] = H[first, second].transpose(0, 2, 1)
        H = H.transpose(0, 2, 1, 3).reshape(n_params, n_params)
    return f, H, B, g.ravel()


def _target_rows(targets, rows, keep, n_classes):
    """Target probabilities of a block (label smoothing applied)."""
    values = targets.values[rows][keep]
    if targets.is_soft:
        return values
    eps = targets.kernel_smoothing
    T = np.full((len(values), n_classes), eps / n_classes)
    T[np.arange(len(values)), values] += 1.0 - eps
    return T


class _Spectrum:
    """Eigen-decomposition of the Hessian in correlation form.

    ``Hs = H / outer(d, d)`` with ``d = sqrt(diag(H))`` has a unit diagonal, so
    that its eigenvalues compare each combination of parameters with the
    parameters alone, whatever their units or the size of their class. The
    directions of ``separation`` (a basis in standardized units, or None) are
    projected out first. Eigenvalues at the rounding level of ``Hs``
    (``noise``) count as zero.
    """

    def __init__(self, H, separation):
        n = H.shape[0]
        diag = np.maximum(np.diag(H), 0.0)
        self.d = np.sqrt(np.maximum(diag, _ZERO_RTOL * max(diag.max(), 1e-300)))
        Hs = H / np.outer(self.d, self.d)
        Hs = (Hs + Hs.T) / 2
        if separation is not None:
            Q = linalg.orth(separation * self.d[:, None])
            proj = np.eye(n) - Q @ Q.T
            Hs = proj @ Hs @ proj
        self.lam, self.V = linalg.eigh(Hs)
        self.noise = _NOISE_ULPS * n * np.finfo(float).eps * max(self.lam[-1], 1.0)
        self.kept = self.lam > self.noise

    def solve(self, b):
        """``H^+ b`` (standardized units), over the directions above the noise."""
        V = self.V[:, self.kept]
        return (V @ ((V.T @ (b / self.d)) / self.lam[self.kept])) / self.d

    def inverse(self):
        """``H^+`` in correlation form (divide by ``outer(d, d)`` for ``H``)."""
        V = self.V[:, self.kept]
        return (V / self.lam[self.kept]) @ V.T

    def unidentified(self, F):
        """Rows of ``F`` (functionals of ``beta'``) the data do not identify.

        A functional's variance splits into the part along directions of
        eigenvalue below ``_RANK_RTOL`` (nearly collinear combinations, and
        the exactly null ones counted at the noise level) and the rest. It is
        not identified when the first part exceeds the second ``1 /
        sqrt(_RANK_RTOL)``-fold: a column that merely correlates with a nearly
        collinear pair keeps its standard error, the pair loses theirs.
        """
        W = (F / self.d) @ self.V
        near = self.lam < _RANK_RTOL
        loose = (W[:, near] ** 2 / np.maximum(self.lam[near], self.noise)).sum(1)
        firm = (W[:, ~near] ** 2 / self.lam[~near]).sum(1)
        return loose > firm / np.sqrt(_RANK_RTOL)


class _Polished:
    """The optimum reached from the fit: contrasts, Hessian, objective values."""

    def __init__(self, **fields):
        self.__dict__.update(fields)


def _polish(data):
    """Newton steps from the fitted contrasts to the optimum's rounding floor.

    Steps are taken over the directions the data identify (not along a
    separating direction, nor along exactly collinear columns). The Hessian
    of the last point is reused while the Newton decrement falls at least
    fourfold per step (cheap gradient passes), and recomputed otherwise and at
    the end, so that the covariance is that of the optimum. Steps whose
    predicted decrease is below the rounding of the objective are taken
    without a line search (the gradient still resolves them) until the
    decrement stops falling.
    """
    separation = _separation(data)
    D = data.D0
    f, g, H, B = _evaluate(data, D, hessian=True)
    spectrum, f0, fresh, last = _Spectrum(H, separation), f, True, np.inf
    for _ in range(_MAX_NEWTON):
        step = -spectrum.solve(g)
        decrement = -float(g @ step)
        floor = _FLOOR_ULPS * np.finfo(float).eps * abs(f)
        if not decrement > 0:
            break
        if decrement > last / 4:
            if not fresh:  # the old Hessian no longer gives Newton's rate
                f, g, H, B = _evaluate(data, D, hessian=True)
                spectrum, fresh = _Spectrum(H, separation), True
                continue
            if decrement <= floor:
                break
        last, fresh = decrement, False
        if decrement > floor:
            moved = _line_search(data, D, f, step, decrement)
            if moved is None:
                break
            D, f, g = moved
        else:
            D = D + step.reshape(data.n_others, data.n_vars) @ data.T.T
            f, g, _, _ = _evaluate(data, D, hessian=False)
    if not fresh:
        f, g, H, B = _evaluate(data, D, hessian=True)
        spectrum = _Spectrum(H, separation)
    return _Polished(D=D, H=H, B=B, g=g, f0=f0, f=f, spectrum=spectrum,
                     separated=separation is not None)


def _line_search(data, D, f, step, decrement):
    """Backtracking (Armijo) along a Newton step; None when nothing decreases."""
    delta = step.reshape(data.n_others, data.n_vars) @ data.T.T
    t = 1.0
    for _ in range(40):
        trial = D + t * delta
        f_t, g_t, _, _ = _evaluate(data, trial, hessian=False)
        if f_t <= f - 1e-4 * t * decrement:
            return trial, f_t, g_t
        t /= 2
    return None


def _separation(data):
    """Basis (standardized units) of the directions that separate the labels.

    Albert and Anderson (1984): the unpenalized multinomial MLE exists iff no
    contrast direction ``delta`` (``delta_ref = 0``) has margins
    ``(delta_{y_i} - delta_k) . u_i >= 0`` for every sample and class, with
    at least one strict. A linear program, ``max sum(t)`` subject to
    ``A delta >= t``, ``0 <= t <= 1``, finds the largest set ``I`` of margins
    that can be positive at once (on the others, ``J``, every such direction
    has margin zero); the separating directions span the null space of
    ``A_J``. Runs for unpenalized fits on labels whose fitted probability of
    some sample's own class saturates (along a separating direction they all
    tend to one); returns None when the MLE exists.
    """
    if np.isfinite(data.C) or data.targets.is_soft or data.targets.kernel_smoothing:
        return None
    if not _saturated(data):
        return None
    A = _margin_matrix(data)
    m, p = A.shape
    res = optimize.linprog(
        np.r_[np.zeros(p), -np.ones(m)],
        A_ub=sp.hstack([-A, sp.eye(m)], format="csr"), b_ub=np.zeros(m),
        bounds=[(None, None)] * p + [(0.0, 1.0)] * m, method="highs",
    )
    if res.status != 0:
        return None  # pragma: no cover - HiGHS failed on a feasible LP
    separated = res.x[p:] > 0.5
    margins = A @ res.x[:p]
    if not separated.any() or np.min(margins) < -1e-7 * max(1.0, margins.max()):
        return None
    rest = A[~separated]
    gram = np.asarray((rest.T @ rest).todense()) if rest.shape[0] else np.zeros((p, p))
    lam, V = linalg.eigh(gram)
    return V[:, lam <= 1e-10 * max(lam[-1], 1.0)]


def _saturated(data):
    """Whether the fit gives some sample its own class with ``1 - p < _SATURATED``."""
    D = data.D0
    coef, intercept = (D[:, 1:], D[:, 0]) if data.fit_intercept else (D, 0.0)
    Z = np.zeros((data.X.shape[0], data.n_others + 1))
    Z[:, data.others] = np.asarray(data.X @ coef.T) + intercept
    keep = data.weights > 0
    own = log_softmax(Z[keep])[np.arange(int(keep.sum())), data.targets.values[keep]]
    return bool(np.any(own > np.log1p(-_SATURATED)))


def _margin_matrix(data):
    """Rows ``(e_{y_i} - e_k) kron u_i`` (contrast coordinates), ``k != y_i``."""
    keep = np.flatnonzero(data.weights > 0)
    U = _design_block(data.X, keep, data.mu, data.sigma, data.fit_intercept)
    q, n_classes = U.shape[1], data.n_others + 1
    pos = np.full(n_classes, -1)
    pos[data.others] = np.arange(data.n_others)
    y = data.targets.values[keep]
    rows, cols, vals = [], [], []
    row = 0
    idx = np.arange(q)
    for k in range(n_classes):
        # Constraint rows for the samples not of class k: (delta_y - delta_k) u.
        samples = np.flatnonzero(y != k)
        r = row + np.arange(len(samples))
        if k != data.ref:
            rows.append(np.repeat(r, q))
            cols.append(pos[k] * q + np.tile(idx, len(samples)))
            vals.append(-U[samples].ravel())
        own = pos[y[samples]]
        mine = own >= 0
        rows.append(np.repeat(r[mine], q))
        cols.append((own[mine][:, None] * q + idx).ravel())
        vals.append(U[samples[mine]].ravel())
        row += len(samples)
    return sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(row, data.n_others * q),
    )


def _check_same_data(data, polished):
    """Refuse data on which the fit's coefficients are not the fit's optimum.

    The objective of the fitted coefficients on these data must equal the
    fit's ``loss_`` up to the rounding of the fit's dtype (relative, and
    absolute for objectives near zero, whose logits round at their size). Where the fit
    recorded no ``loss_`` (a cross-validated model), polishing a fit that
    converged must not lower the objective by more than ``_MISMATCH`` times
    its ``tol`` (relative): the fit's stopping rule bounds the gradient, not
    the gap, so the factor is wide.
    """
    clf = data.clf
    total = float(np.sum(data.weights))
    rounding = np.sqrt(np.finfo(data.fit_dtype).eps)
    loss = getattr(clf, "loss_", None)
    mean0 = polished.f0 / total
    gap = (polished.f0 - polished.f) / max(abs(polished.f), np.finfo(float).tiny)
    n_iter = getattr(clf, "n_iter_", getattr(clf, "refit_n_iter_", 0))
    converged = np.max(n_iter) < clf.max_iter and not polished.separated
    if loss is not None and np.isfinite(loss) and (
            abs(mean0 - loss) > rounding * (abs(loss) + 1.0)):
        why = (f"the fit's coefficients give an objective of {mean0:.8g} on "
               f"them, where the fit ended at loss_={loss:.8g}")
    elif loss is None and converged and gap > _MISMATCH * max(clf.tol, rounding):
        why = (f"Newton steps from the fit's coefficients lower the objective "
               f"by {gap:.2g} (relative), more than the fit's tol={clf.tol:g} "
               "explains")
    else:
        return
    raise ValueError(
        f"These are not the data of the fit: {why}. Pass the X, y and "
        "sample_weight the estimator was fitted on."
    )


def _covariance(data, polished):
    """Covariance of the contrasts (original units), and its unidentified rows.

    The (pseudo-)inverse of the penalized Hessian, or the sandwich
    ``H^+ B H^+``, in standardized units, mapped back by ``T``. Rows and
    columns of contrasts that the data do not identify are NaN.
    """
    spectrum = polished.spectrum
    dd = np.outer(spectrum.d, spectrum.d)
    inv = spectrum.inverse()
    if polished.B is not None:
        inv = inv @ (polished.B / dd) @ inv
    big_T = np.kron(np.eye(data.n_others), data.T)
    cov = big_T @ (inv / dd) @ big_T.T
    # H scales like the weights and B like their square: the sandwich is the
    # same for the rescaled weights, the inverse Hessian is `scale` times it.
    if polished.B is None:
        cov /= data.scale
    unidentified = spectrum.unidentified(big_T)
    cov[unidentified, :] = np.nan
    cov[:, unidentified] = np.nan
    return cov, unidentified


def _warn(data, polished, cov, unidentified):
    """Warn about unidentified contrasts and a fit far from the optimum."""
    classes = data.classes[data.others]
    if unidentified.any():
        cause = ("the data separate the classes along some direction: without a "
                 "penalty the maximum-likelihood estimate is at infinity"
                 if polished.separated else
                 "the Hessian is singular or nearly so (collinear or constant "
                 "columns)")
        warnings.warn(
            f"{int(unidentified.sum())} of {data.n_params} contrasts are not "
            f"identified ({_entry_names(unidentified, data.names, classes)}): "
            f"{cause}. Their standard errors, intervals and p-values are NaN. "
            "Drop collinear columns, or use a finite C.",
            UserWarning, stacklevel=3,
        )
    se = np.sqrt(np.maximum(np.diag(cov), 0.0))
    moved = np.abs(polished.D - data.D0).ravel() / np.where(se > 0, se, np.inf)
    moved = np.where(unidentified | np.isnan(moved), 0.0, moved)
    if moved.max(initial=0.0) > _CONVERGENCE_SE:
        warnings.warn(
            f"The fit's coef_ stopped up to {float(moved.max()):.2g} standard "
            "errors from the optimum. The results are those of the optimum, "
            "reached by Newton steps from the fit; refit with a smaller tol "
            "(and larger max_iter) for coef_ to agree with them.",
            UserWarning, stacklevel=3,
        )


def _final_estimator(estimator, X):
    """The SoftmaxClassifier, X transformed by a pipeline's steps, input names."""
    X = _host(X, "X")
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
    return estimator, _reject_strings(_host(X, "X")), names


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
