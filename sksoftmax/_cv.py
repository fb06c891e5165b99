"""``SoftmaxClassifierCV``: choose ``C`` by cross-validation along a path.

No math of its own: each fold builds the objective of
:class:`~sksoftmax.SoftmaxClassifier` once (validated data, targets, weights,
column statistics) and solves it for every ``C`` of the grid, from the
strongest regularization to the weakest, each solve starting from the previous
solution. Scores, selection and the refit live here.

Layout of the results, as scikit-learn's ``LogisticRegressionCV`` with
``use_legacy_attributes=False``: ``scores_[fold, l1_ratio, C]``,
``coefs_paths_[fold, l1_ratio, C, class, feature]``.
"""

import contextlib
import copy
import dataclasses
import inspect
import threading
import time
import warnings
from numbers import Integral
from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed
from sklearn.base import _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _raise_for_params,
    _routing_enabled,
    process_routing,
)
from sklearn.utils.validation import _check_method_params, _check_sample_weight
from threadpoolctl import threadpool_limits

from sksoftmax._executor import fit_executor
from sksoftmax._fitter import Fitter, initial_params
from sksoftmax._hessian import (
    DenseHessianRoot,
    hessian_applies,
    iterations_worth,
)
from sksoftmax._loss import log_softmax
from sksoftmax._objective import (
    CurvatureProbe,
    SoftmaxObjective,
    column_moments,
    column_scaling,
    evaluation_layout,
)
from sksoftmax._path_tol import FLOOR, STEP, ScoreTolerance
from sksoftmax._penalty import Penalty
from sksoftmax._problem import PenalizedProblem
from sksoftmax._screening import StrongRule
from sksoftmax._softmax import SoftmaxClassifier, _backend_for
from sksoftmax._targets import Targets, fit_weights, prepare_targets
from sksoftmax._warnings import warn

# The data-derived grid spans this ratio (times the spread of the column
# scales; see the class Notes). The best C measured on iris, wine, breast
# cancer and digits (raw and standardized) lay 3e2 to 3e4 times above the
# start (times the spread).
_GRID_RATIO = 1e5

# The SoftmaxClassifier parameters that SoftmaxClassifierCV passes through.
_SHARED_PARAMS = ("fit_intercept", "class_weight", "max_iter", "tol",
                  "label_smoothing", "ignore_label", "history_size", "max_fun",
                  "penalty_factor", "coef_bounds", "positive")


class SoftmaxClassifierCV(SoftmaxClassifier):
    """Softmax classifier with ``C`` chosen by cross-validation along a path.

    For every fold of ``cv``, the objective of
    :class:`~sksoftmax.SoftmaxClassifier` is built once (validated data,
    targets, weights and column statistics) and solved for every ``C`` of the
    grid, from the strongest regularization to the weakest, each solve
    warm-started from the previous solution. Each solution is scored on the
    held-out samples; the ``C`` with the best mean score (or, with
    ``selection="1se"``, the smallest ``C`` within one standard error of it)
    is chosen and the model refitted on all the data.

    Read more in the :ref:`User Guide <cross_validation>`.

    Parameters
    ----------
    Cs : int or array-like of float, default=10
        An int gives that many values for each ``l1_ratio``, log-spaced over
        a grid derived from the data for that ``l1_ratio`` (see Notes); an
        array-like gives the values of ``C`` (positive, ``np.inf`` allowed)
        for every ``l1_ratio``, sorted in increasing order.

    l1_ratios : array-like of float, default=(0.0,)
        Mixing parameters of the elastic-net penalty to cross-validate, in
        ``[0, 1]`` (``l1_ratio`` of :class:`~sksoftmax.SoftmaxClassifier`:
        0 is the L2 penalty, 1 the L1 penalty). Each ``l1_ratio`` is
        cross-validated over its own row of ``Cs_``.

    cv : int, cross-validation generator or iterable, default=None
        As in :func:`sklearn.model_selection.check_cv`: None gives 5 folds,
        an int that many; stratified for label vectors, plain
        :class:`~sklearn.model_selection.KFold` for soft targets.

    scoring : str or callable, default=None
        None scores a fold by the negative held-out log-loss
        ``-sum_i w_i H(t_i, p_i) / sum_i w_i``, with ``w_i`` the sample weights
        (class weights and label smoothing shape the fit, not the score),
        ``t_i`` the targets as given (one-hot labels or soft targets),
        probabilities clipped to ``[eps, 1 - eps]`` as
        :func:`sklearn.metrics.log_loss` does, and samples with the
        ``ignore_label`` left out. A string or callable is a scikit-learn
        scorer (a name or a callable ``scorer(estimator, X, y)``), called on
        the held-out samples that are not ignored. Without metadata routing
        it gets ``sample_weight`` when it accepts it; with routing, what it
        requests (see :meth:`fit`).

    refit : bool, default=True
        Refit on all the data at the chosen ``C`` (starting from the folds'
        mean solution there). If False, ``coef_`` and ``intercept_`` are the
        mean of the folds' solutions at the chosen ``C``.

    selection : {"best", "1se"}, default="best"
        ``"best"``: the ``C`` with the best mean score over the folds (the
        smallest such ``C`` if tied). ``"1se"``: the smallest ``C`` (strongest
        regularization) whose mean score is at least the best mean minus its
        standard error (R's ``cv.glmnet`` ``lambda.1se``; see Notes).

    n_jobs : int, default=None
        Number of (fold, l1_ratio) paths solved in parallel, in processes
        (see Notes). None means 1 unless in a :obj:`joblib.parallel_config`
        context; -1 means all processors.

    fit_intercept : bool, default=True
        Whether to fit an (unpenalized) intercept per class.

    class_weight : dict or "balanced", default=None
        As in :class:`~sksoftmax.SoftmaxClassifier`; ``"balanced"`` is computed
        on each fold's training samples, as a grid search would.

    max_iter : int, default=1000
        Maximum number of L-BFGS iterations of each fit.

    tol : float, default=2e-5
        Stopping tolerance of each fit, as in
        :class:`~sksoftmax.SoftmaxClassifier`: the loosest one. A path fit
        goes on, to tighter tolerances, until its held-out score is precise
        (see Notes); the refit is at least as tight as the path fits at the
        chosen ``C``.

    verbose : int, default=0
        1 prints one line per (fold, C): the score, the iterations and the
        time; 2 and more also print the solver's iterations.

    label_smoothing : float, default=0.0
        As in :class:`~sksoftmax.SoftmaxClassifier` (applies to the fit only).

    ignore_label : object, default=None
        As in :class:`~sksoftmax.SoftmaxClassifier`; such samples are neither
        fitted nor scored.

    history_size : int, default=10
        Number of correction pairs kept by L-BFGS.

    max_fun : int, default=15000
        Maximum number of loss and gradient evaluations of each fit.

    penalty_factor : array-like of shape (n_features,), default=None
        Per-feature factors of the penalty, as in
        :class:`~sksoftmax.SoftmaxClassifier`.

    coef_bounds : tuple (lower, upper), default=None
        Bounds on the coefficients, as in
        :class:`~sksoftmax.SoftmaxClassifier`.

    positive : bool, default=False
        Constrain the coefficients to be nonnegative, as in
        :class:`~sksoftmax.SoftmaxClassifier`.

    Attributes
    ----------
    C_ : float
        The chosen ``C``.

    l1_ratio_ : float
        The chosen ``l1_ratio``.

    Cs_ : ndarray of shape (n_l1_ratios, n_cs)
        The grid of ``C`` of each ``l1_ratio`` (row ``j`` for
        ``l1_ratios_[j]``), increasing (weakening regularization):
        ``scores_[:, j, c]`` was computed at ``C = Cs_[j, c]``. The rows are
        equal when ``Cs`` is an array-like.

    l1_ratios_ : ndarray of shape (n_l1_ratios,)
        The ``l1_ratios`` cross-validated.

    scores_ : ndarray of shape (n_folds, n_l1_ratios, n_cs)
        Held-out score of each fold, ``l1_ratio`` and ``C``.

    coefs_paths_ : ndarray of shape (n_folds, n_l1_ratios, n_cs, n_classes, \
n_features)
        Coefficients of each fold's fit. A class absent from a fold's training
        data has zero coefficients there.

    intercepts_paths_ : ndarray of shape (n_folds, n_l1_ratios, n_cs, n_classes)
        Intercepts of each fold's fit (zeros without ``fit_intercept``);
        ``-inf`` for a class absent from the fold's training data.

    n_iter_ : ndarray of shape (n_folds, n_l1_ratios, n_cs)
        L-BFGS iterations of each fold's fit.

    refit_n_iter_ : int
        L-BFGS iterations of the final refit (0 when ``refit=False``).

    classes_ : ndarray of shape (n_classes,)
        Class labels; ``np.arange(n_classes)`` when fitted on soft targets.

    coef_ : ndarray of shape (n_classes, n_features)
        Coefficients of the final model.

    intercept_ : ndarray of shape (n_classes,)
        Intercepts of the final model, centred to sum to zero.

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`, for inputs with string
        column names.

    See Also
    --------
    SoftmaxClassifier : The estimator fitted at each point of the path.
    sklearn.linear_model.LogisticRegressionCV : The scikit-learn counterpart,
        on the fixed grid ``np.logspace(-4, 4, Cs)``.

    Notes
    -----
    **The grid.** With an int ``Cs``, the grid starts at the strongest
    regularization ``C_0 = 1 / (S * h)``, where ``S`` is the total sample
    weight and ``h = (1 - sum_k p_k**2) * sum_j var(x_j)`` the trace of the
    Hessian of the mean cross-entropy at ``W = 0`` with the intercepts at the
    log priors ``p`` (``var`` weighted, uncentred without an intercept).
    There the penalty outweighs the data's total curvature: the ridge fit of
    the quadratic model at the prior has at most one effective degree of
    freedom, the L2 counterpart of glmnet's ``lambda_max``. It runs
    log-spaced up to ``C_0 * 1e5 * spread``, where ``spread`` (at least 1)
    is the mean column variance over the median one: 1 for standardized
    data, large when a few columns have much larger scales than the rest
    (which make ``C_0`` small without saying much about the typical column).
    On iris, wine, breast cancer and digits, raw and standardized, the best
    ``C`` lay between ``3e2`` and ``3e4`` times ``C_0 * spread``. The grid
    scales as ``1 / X**2``, like the optimal ``C``. With an ``l1_ratio``
    ``r > 0`` the start for it is ``r / (S * lambda_max)``, with glmnet's
    ``lambda_max`` the largest entry of that gradient at ``W = 0`` (divided
    by ``penalty_factor``, in the directions the bounds allow): the largest
    ``C`` at which every coefficient stays zero. Each ``l1_ratio`` has its
    own grid (one row of ``Cs_``), from its own start to ``1e5 * spread``
    times it, as glmnet computes one ``lambda`` sequence per ``alpha``: the
    grid of an ``l1_ratio`` does not depend on the other ``l1_ratios`` (the
    L2 row is the grid of ``l1_ratios=(0.0,)``), and every point of a row
    is a useful one (an L1 grid starts where the first coefficient leaves
    zero).

    **Convergence.** A fit of the path that stops before reaching ``tol``
    does not warn on its own: ``fit`` issues one ``ConvergenceWarning``
    that lists the (fold, ``C``, ``l1_ratio``) of every such fit, says
    whether the chosen point is among them, and gives the solver's advice
    (and that of the refit, if it stopped early too). This holds with
    ``n_jobs``: the workers send their fits' warnings back.

    **The path.** The Cs are solved in increasing order, each fit starting
    from the previous fits' coefficients extrapolated in ``log C``, mapped
    into the conditioned coordinates of the new ``C`` (the conditioning
    depends on ``C``, and on the data curvature at that start), and
    preconditioned with the previous fit's L-BFGS curvature pairs (L2 fits
    without bounds). The data, targets, weights and column statistics of a
    fold are computed once. Each fit stops by the rule of
    :class:`~sksoftmax.SoftmaxClassifier`, read in its default conditioning.

    **Precision of the path.** A fit of the path is only read through its
    held-out score, whose error falls about in proportion to the tolerance,
    by a factor that varies with ``C`` over orders of magnitude. So each
    ``C`` is solved in stages, each 10 times tighter than the last (the
    first at most ``tol``, predicted from the previous ``C``), until two
    consecutive stages' held-out log-losses estimate its error below
    ``5e-6`` relative. On the benchmark problems the fold scores then agree
    with those of fits to ``tol=1e-10`` within ``1e-4`` relative at every
    ``C``, where a single fit to ``tol=2e-5`` was off by up to ``8e-4`` at
    the weakest penalties; the chosen ``C`` is that of a tight grid search.

    **Strong rules (L1).** With an ``l1_ratio > 0``, each ``C`` is fitted on
    the columns that the sequential strong rule keeps (Tibshirani et al.,
    2012): those nonzero at the previous ``C``, and those whose data
    gradient there is at least ``2 lambda - lambda_prev`` (times their
    ``penalty_factor``). Afterwards the KKT conditions of every other column
    are checked with the full gradient; the violators join and the fit goes
    on. The solutions are those of the full problem; the screened fits only
    multiply fewer columns.

    **Selection.** With ``m_c`` the mean of the fold scores at ``C = c`` and
    ``se_c = std_c / sqrt(n_folds - 1)`` (``std`` over the folds, dividing
    by ``n_folds``; that is, the standard error of the mean, as in
    ``cv.glmnet``), ``"1se"`` picks the smallest ``c`` with
    ``m_c >= m_best - se_best``.

    **A fold missing a class.** A class with no weight in a fold's training
    targets is left out of that fold's fit, which is then exactly the fit
    ``SoftmaxClassifier`` makes on the fold; the class gets zero
    coefficients and an intercept of ``-inf`` (probability 0). Its held-out
    samples then score ``log(eps)`` each under the default scoring, as
    :func:`sklearn.metrics.log_loss` clips them: finite, and a fair penalty
    for a fold that cannot predict the class. ``refit=False`` averages each
    class over the folds that contain it.

    **Parallelism.** ``n_jobs`` runs the (fold, ``l1_ratio``) paths in
    joblib's default process-based backend (loky), whose workers limit their
    BLAS pools to their share of the cores. Measured on 2 busy cores with 5
    folds and 10 Cs (``benchmarks/bench_cv.py --jobs``), ``n_jobs=2`` took
    14.4 s with processes and 18.9 s with threads on the 20,000 x 50
    problem (21.5 s with ``n_jobs=None``), 6.8 s and 5.7 s on digits (9.3 s):
    processes gain where the time matters. ``joblib.parallel_config`` can
    choose another backend.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sksoftmax import SoftmaxClassifierCV
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = SoftmaxClassifierCV(Cs=[0.01, 0.1, 1.0, 10.0]).fit(X, y)
    >>> float(clf.C_)
    10.0
    >>> clf.scores_.shape
    (5, 1, 4)
    >>> clf.Cs_.shape
    (1, 4)
    >>> clf.predict(X[:2])
    array([0, 0])
    """

    _parameter_constraints: ClassVar[dict] = {
        **{name: SoftmaxClassifier._parameter_constraints[name]
           for name in (*_SHARED_PARAMS, "verbose")},
        "Cs": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "l1_ratios": ["array-like"],
        "cv": ["cv_object"],
        # A scorer name is checked by sklearn.metrics.check_scoring at fit.
        "scoring": [str, callable, None],
        "refit": ["boolean"],
        "selection": [StrOptions({"best", "1se"})],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        *,
        Cs=10,
        l1_ratios=(0.0,),
        cv=None,
        scoring=None,
        refit=True,
        selection="best",
        n_jobs=None,
        fit_intercept=True,
        class_weight=None,
        max_iter=1000,
        tol=2e-5,
        verbose=0,
        label_smoothing=0.0,
        ignore_label=None,
        history_size=10,
        max_fun=15000,
        penalty_factor=None,
        coef_bounds=None,
        positive=False,
    ):
        self.Cs = Cs
        self.l1_ratios = l1_ratios
        self.cv = cv
        self.scoring = scoring
        self.refit = refit
        self.selection = selection
        self.n_jobs = n_jobs
        self.fit_intercept = fit_intercept
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.label_smoothing = label_smoothing
        self.ignore_label = ignore_label
        self.history_size = history_size
        self.max_fun = max_fun
        self.penalty_factor = penalty_factor
        self.coef_bounds = coef_bounds
        self.positive = positive

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.array_api_support = False
        return tags

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, **params):
        """Cross-validate the grid of ``C``, choose one, refit.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.

        y : array-like of shape (n_samples,) or (n_samples, n_classes)
            Class labels, or soft targets (rows of probabilities).

        sample_weight : array-like of shape (n_samples,), default=None
            Nonnegative weight of each sample, used by every fit and by the
            default scoring (and by a ``scoring`` that accepts it).

        **params : dict
            With metadata routing enabled, parameters for the splitter (e.g.
            ``groups``) and the scorer (scikit-learn's metadata routing). The
            default scoring always uses ``sample_weight``; a ``scoring``
            object gets it only if it requests it
            (``set_score_request(sample_weight=True)``), and scikit-learn
            raises ``UnsetMetadataPassedError`` if it neither requests nor
            declines it, as for ``LogisticRegressionCV``.

        Returns
        -------
        self : SoftmaxClassifierCV
            The fitted estimator.
        """
        _raise_for_params(params, self, "fit")
        previous_state = self.__dict__.copy()
        try:
            return self._fit_cv(X, y, sample_weight, params)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(previous_state)
            raise

    def _fit_cv(self, X, y, sample_weight, params):
        # Imported here: importing sksoftmax must not import sklearn.metrics
        # or sklearn.model_selection (they need sklearn.callback).
        from sklearn.model_selection import check_cv

        _reject_backends(X)
        l1_ratios = _check_l1_ratios(self.l1_ratios)
        X, targets = self._validate_fit_data(X, y)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        score_values = targets.values
        if targets.is_soft and self.label_smoothing:  # score the given targets
            score_values = prepare_targets(y, n_samples=X.shape[0]).values

        split_params, score_params = self._route(sample_weight, params)
        y_split = score_values if targets.is_soft else np.asarray(y).reshape(-1)
        cv = check_cv(self.cv, y_split, classifier=True)
        folds = list(cv.split(X, y_split, **split_params))
        if self.selection == "1se" and len(folds) < 2:
            raise ValueError(
                'selection="1se" needs at least 2 folds for a standard error; '
                f"cv gave {len(folds)}."
            )

        self.Cs_ = self._grid(X, targets, sample_weight, l1_ratios)
        self.l1_ratios_ = np.asarray(l1_ratios, dtype=np.float64)
        scorer = self._fold_scorer(targets.classes)
        path = _FoldPath(self, X, targets, score_values, sample_weight,
                         y, scorer, score_params, len(folds))
        jobs = [(i, train, test, j, l1)
                for i, (train, test) in enumerate(folds)
                for j, l1 in enumerate(l1_ratios)]
        results = _run_parallel(path, jobs, self.n_jobs)
        unconverged = [item for *_, items in results for item in items]
        self._store_paths(results, len(folds), len(l1_ratios), X.shape[1],
                          targets.n_classes)
        j, c = self._select()
        self.l1_ratio_ = float(self.l1_ratios_[j])
        self.C_ = float(self.Cs_[j, c])
        self.classes_ = targets.classes
        coef, intercept = _mean_over_folds(self.coefs_paths_[:, j, c],
                                           self.intercepts_paths_[:, j, c])
        self.refit_n_iter_ = 0
        if self.refit:
            # At least as tight as the path fits that chose C_ (their last
            # stages), so that its precision matches theirs.
            tol = min([self.tol] + [values[4][c] for (_, l1), values, _
                                    in results if l1 == j])
            final = self._estimator(C=self.C_, l1_ratio=self.l1_ratio_,
                                    warm_start=True, tol=tol)
            final.coef_, final.intercept_ = coef, intercept
            with _convergence_log() as refit_log:
                final.fit(X, y, sample_weight=sample_weight)
            coef, intercept = final.coef_, final.intercept_
            self.refit_n_iter_ = final.n_iter_
        elif self.fit_intercept:
            intercept = intercept - intercept.mean()
        self.coef_ = coef.astype(X.dtype, copy=False)
        self.intercept_ = intercept.astype(X.dtype, copy=False)
        _warn_unconverged(self, unconverged, len(jobs) * self.Cs_.shape[1],
                          [message for _, message in refit_log] if self.refit
                          else [])
        return self

    def _route(self, sample_weight, params):
        """Metadata for the splitter's ``split`` and the scorer (as two dicts).

        The default scoring is this estimator's own: it takes the fit's
        ``sample_weight`` directly, routing or not. A ``scoring`` gets what it
        requests under routing (scikit-learn raises
        ``UnsetMetadataPassedError`` for weights it neither requests nor
        declines, as for ``LogisticRegressionCV``); without routing it gets
        the weights when its signature accepts them.
        """
        if _routing_enabled():
            routed = process_routing(self, "fit", sample_weight=sample_weight,
                                     **params)
            scorer = routed.get("scorer")
            return routed.splitter.split, {} if scorer is None else scorer.score
        if sample_weight is None or self.scoring is None:
            return {}, {}
        from sklearn.metrics import check_scoring

        accepts = _parameters(check_scoring(self, scoring=self.scoring))
        if "sample_weight" in accepts or any(
                p.kind == p.VAR_KEYWORD for p in accepts.values()):
            return {}, {"sample_weight": sample_weight}
        return {}, {}

    def _estimator(self, **params):
        """A SoftmaxClassifier with the shared parameters (one fit's solver)."""
        shared = {name: getattr(self, name) for name in _SHARED_PARAMS}
        shared["verbose"] = max(0, self.verbose - 1)
        return SoftmaxClassifier(**{**shared, **params})

    def _grid(self, X, targets, sample_weight, l1_ratios):
        if not isinstance(self.Cs, Integral):
            Cs = np.sort(np.asarray(self.Cs, dtype=np.float64).ravel())
            if Cs.size == 0 or not np.all(Cs > 0) or np.any(np.isnan(Cs)):
                raise ValueError(
                    f"Cs must be an int or positive values of C; got {self.Cs!r}."
                )
            return np.tile(Cs, (len(l1_ratios), 1))
        with fit_executor():
            starts, ratio = _grid_bounds(self, X, _subset(targets, slice(None)),
                                         sample_weight, l1_ratios)
        return np.array([np.logspace(np.log10(start), np.log10(start * ratio),
                                     self.Cs) for start in starts])

    def _fold_scorer(self, classes):
        """The user's scorer (labels fixed to all classes), or None."""
        if self.scoring is None:
            return None
        from sklearn.metrics import check_scoring, make_scorer

        scorer = check_scoring(self, scoring=self.scoring)
        # A held-out fold may lack a class: metrics that take ``labels`` get
        # them all (as LogisticRegressionCV does).
        score_func = getattr(scorer, "_score_func", None)
        if score_func is not None and "labels" in _parameters(score_func):
            scorer = make_scorer(
                score_func, greater_is_better=scorer._sign == 1,
                response_method=scorer._response_method, labels=classes,
                **{k: v for k, v in getattr(scorer, "_kwargs", {}).items()
                   if k != "labels"},
            )
        return scorer

    def _store_paths(self, results, n_folds, n_l1, n_features, n_classes):
        n_cs = self.Cs_.shape[1]
        self.scores_ = np.empty((n_folds, n_l1, n_cs))
        self.n_iter_ = np.zeros((n_folds, n_l1, n_cs), dtype=np.int64)
        self.coefs_paths_ = np.zeros((n_folds, n_l1, n_cs, n_classes, n_features))
        self.intercepts_paths_ = np.zeros((n_folds, n_l1, n_cs, n_classes))
        for (i, j), (scores, n_iter, coefs, intercepts, _), _ in results:
            self.scores_[i, j] = scores
            self.n_iter_[i, j] = n_iter
            self.coefs_paths_[i, j] = coefs
            self.intercepts_paths_[i, j] = intercepts

    def _select(self):
        """Indices ``(l1_ratio, C)`` of the chosen point of the grid."""
        scores = self.scores_
        if not np.all(np.isfinite(scores)):
            raise ValueError(
                "Some cross-validation scores are not finite (a fold without "
                "scoreable samples, or a scoring that returned NaN); "
                f"scores_ per fold: {np.nanmean(scores, axis=(1, 2))!r}."
            )
        mean = scores.mean(axis=0)
        j, c = np.unravel_index(np.argmax(mean), mean.shape)
        if self.selection == "1se":
            se = scores.std(axis=0) / np.sqrt(scores.shape[0] - 1)
            c = int(np.argmax(mean[j] >= mean[j, c] - se[j, c]))
        return int(j), int(c)

    def get_metadata_routing(self):
        """Get the metadata routing of this object.

        ``sample_weight`` is used by every fit and the default scoring; the
        splitter gets what its ``split`` requests (e.g. ``groups``) and a
        ``scoring`` what it requests.

        Returns
        -------
        routing : MetadataRouter
            The routing information.
        """
        from sklearn.metrics import check_scoring
        from sklearn.model_selection import check_cv

        router = (
            MetadataRouter(owner=self)
            .add_self_request(self)
            .add(splitter=check_cv(self.cv),
                 method_mapping=MethodMapping().add(caller="fit", callee="split"))
        )
        if self.scoring is not None:
            router.add(scorer=check_scoring(self, scoring=self.scoring),
                       method_mapping=MethodMapping().add(caller="fit",
                                                          callee="score"))
        return router


class _FoldPath:
    """Solve and score the grid of ``C`` on one fold (callable per job).

    Reads the estimator's public parameters only; each point of the path is
    one :meth:`Fitter.fit <sksoftmax._fitter.Fitter.fit>` on the fold's
    problem at that ``C``, started from the path's extrapolation and
    carrying the previous run's curvature.
    """

    def __init__(self, estimator, X, targets, score_values, sample_weight, y,
                 scorer, score_params, n_folds):
        self.estimator = estimator
        self.X = X
        self.targets = targets
        self.score_values = score_values
        self.sample_weight = sample_weight
        self.y = y
        self.scorer = scorer
        self.score_params = score_params
        self.n_folds = n_folds
        self.fitter = Fitter.from_params(
            estimator, verbose=max(0, estimator.verbose - 1), dtype=X.dtype,
            keep_pairs=True)

    def __call__(self, fold, train, test, l1_index, l1_ratio):
        """Solve one (fold, l1_ratio) path.

        Returns ``((fold, l1_index), (scores, n_iter, coefs, intercepts,
        tols), unconverged)``, ``tols`` the last stage's tolerance of each C,
        with ``unconverged`` a list of ``(fold, C, l1_ratio,
        message)``, one per fit of the path that warned.
        """
        # _path reads the grid from the estimator: this l1_ratio's row.
        job = copy.copy(self)
        job.estimator = copy.copy(self.estimator)
        Cs = job.estimator.Cs_ = self.estimator.Cs_[l1_index]
        # One pool of row-block threads for the whole path (as for one fit).
        with _convergence_log() as log, fit_executor():
            key, values = job._path(fold, train, test, l1_index, l1_ratio)
        unconverged = [(fold, float(Cs[c]) if c < len(Cs) else None, l1_ratio,
                        message) for c, message in log]
        return key, values, unconverged

    def _path(self, fold, train, test, l1_index, l1_ratio):
        est = self.estimator
        Cs = est.Cs_
        sw = None if self.sample_weight is None else self.sample_weight[train]
        # Once per fold: every stage's row sums then use it as it is.
        X_train = evaluation_layout(self.X[train])
        fit = _FoldFit(est, X_train, _subset(self.targets, train), sw,
                       l1_ratio, self.fitter)
        present = fit.present
        scorer = _TestScorer(self, test, est)
        n_classes, n_features = len(present), self.X.shape[1]
        scores = np.empty(len(Cs))
        n_iter = np.zeros(len(Cs), dtype=np.int64)
        tols = np.empty(len(Cs))
        coefs = np.zeros((len(Cs), n_classes, n_features))
        intercepts = np.zeros((len(Cs), n_classes))
        intercepts[:, ~present] = -np.inf

        # A stage's held-out log-loss (over all the classes) tells whether
        # the point's score is precise; a user's scorer is called once per C.
        def score(coef, intercept):
            full_coef = np.zeros((n_classes, n_features))
            full_intercept = np.full(n_classes, -np.inf)
            full_coef[present], full_intercept[present] = coef, intercept
            return scorer.log_loss(full_coef, full_intercept)

        tolerance = ScoreTolerance(est.tol)
        path = []  # (log C, coef, intercept) of the fits so far
        for c, C in enumerate(Cs):
            start = time.perf_counter()
            init = _predict_start(path, C) or fit.initial()
            coef, intercept, n_iter[c], tols[c] = fit.point(C, init, tolerance,
                                                            score)
            path.append((np.log(C), coef, intercept))
            coefs[c, present] = coef
            intercepts[c, present] = intercept
            scores[c] = scorer(coefs[c], intercepts[c])
            if est.verbose:
                print(
                    f"[SoftmaxClassifierCV] fold {fold + 1}/{self.n_folds} "
                    f"l1_ratio={l1_ratio:g} C={C:.3e} ({c + 1}/{len(Cs)}): "
                    f"score {scores[c]:.6f}, {n_iter[c]} iterations, "
                    f"{time.perf_counter() - start:.3f}s", flush=True,
                )
        return (fold, l1_index), (scores, n_iter, coefs, intercepts, tols)


class _FoldFit:
    """One fold's fits: its fixed parts, and each point of its path.

    The data, targets, weights, column statistics and penalty are computed
    once. With an L1 part, each ``C`` is fitted on the columns that the
    strong rule (:mod:`sksoftmax._screening`) keeps; each is solved in stages
    of tolerance until its score is precise (:mod:`sksoftmax._path_tol`).
    """

    def __init__(self, est, X, targets, sample_weight, l1_ratio, fitter):
        weights, self.weight_scale = fit_weights(
            targets, sample_weight, X.shape[0], est.class_weight)
        present = targets.class_totals(weights) > 0
        if not targets.is_soft and targets.kernel_smoothing:
            present[:] = True  # smoothed labels give every class some mass
        self.present, self.targets = present, _keep_classes(targets, present)
        self.totals = self.targets.class_totals(weights)
        self.X, self.weights, self.fitter = X, weights, fitter
        self.fit_intercept = est.fit_intercept
        self.mu, self.sigma = column_scaling(X, weights, est.fit_intercept)
        self.n_features = X.shape[1]
        self.penalty = Penalty.from_params(
            est, len(present), self.n_features, C=np.inf,
            l1_ratio=l1_ratio).for_classes(present)
        self.rule = None
        if l1_ratio > 0:
            self.rule = StrongRule(X, self.targets, weights, est.fit_intercept,
                                   self.penalty.penalty_factor,
                                   self.penalty.lower, self.penalty.upper)
        self.columns = None
        self.use(np.arange(self.n_features))
        self.root = None
        n_params = len(present) * (self.n_features + self.fit_intercept)
        self.hessian_after = None  # no Hessian for this path
        if (self.rule is None and self.penalty.lower is None
                and hessian_applies(sp.issparse(X), X.dtype, n_params)):
            self.hessian_after = iterations_worth(X.shape[0], self.n_features,
                                                  n_params)
        self.n_iter_last = 0

    def initial(self):
        return initial_params(len(self.totals), self.n_features, self.totals,
                              self.fit_intercept)

    def use(self, columns):
        """Fit on ``columns`` of the data from now on."""
        if self.columns is not None and np.array_equal(columns, self.columns):
            return
        self.columns = columns
        full = len(columns) == self.n_features
        self.X_fit = self.X if full else evaluation_layout(self.X[:, columns])
        self.mu_fit, self.sigma_fit = self.mu[columns], self.sigma[columns]
        self.penalty_fit = self.penalty.for_columns(columns)
        self.pairs = None  # the last run's curvature (sksoftmax._carry)
        self.curvature_at = CurvatureProbe(self.X_fit, self.weights,
                                           self.mu_fit, self.sigma_fit)

    def problem(self, C, curvature):
        """The problem at ``C`` on the kept columns, its solver scale fitted
        to ``curvature`` (:class:`~sksoftmax._objective.CurvatureProbe`)."""
        targets = self.targets
        objective = SoftmaxObjective(
            self.X_fit, targets.values, self.weights, targets.n_classes,
            np.inf, self.fit_intercept, label_smoothing=targets.kernel_smoothing,
            mu=self.mu_fit, sigma=self.sigma_fit, curvature=curvature)
        return PenalizedProblem(objective, self.penalty_fit.with_C(C),
                                weight_scale=self.weight_scale)

    def precondition(self, C, init):
        """Whether the runs at ``C`` use the exact Hessian at ``init``
        (:mod:`sksoftmax._hessian`): where it applies (L2 only, dense data,
        few parameters), once a point of the path took more iterations than
        forming it costs."""
        self.root = None
        if self.hessian_after is None or self.n_iter_last <= self.hessian_after:
            return False
        problem = self.problem(C, self.curvature_at(*init))
        self.root = DenseHessianRoot.at(problem.objective, problem.start(*init))
        return True

    def refresh(self, objective, theta):
        """The Hessian root at ``theta``, for this point's later runs too."""
        self.root = DenseHessianRoot.at(objective, theta)
        return self.root

    def solve(self, C, init, tol):
        """One run at ``C`` to ``tol`` from ``init``, on the kept columns.

        Returns ``(result, stopped)``; ``stopped`` says that a tighter run
        would not get further.
        """
        # The conditioning fits the curvature where this fit starts; with a
        # Hessian root, where the root was taken (the root's coordinates).
        curvature = (self.curvature_at(*init) if self.root is None
                     else self.root.curvature)
        problem = self.problem(C, curvature)
        # A stage tighter than the user's tol starts from a fit that met it:
        # where it stops early, the fit still meets tol and is kept, without
        # a warning, and no tighter stage follows (``stopped``).
        beyond = tol < self.fitter.tol
        fitter = dataclasses.replace(self.fitter, tol=tol, warn=not beyond)
        result = fitter.fit(
            problem, init, carried=self.pairs, root=self.root,
            refresh=None if self.hessian_after is None else self.refresh,
            refresh_every=self.hessian_after)
        self.pairs = result.pairs
        stopped = beyond and not result.converged
        return result, stopped or result.n_iter >= fitter.max_iter

    def point(self, C, init, tolerance, score):
        """Solve ``C`` from ``init``: ``(coef, intercept, n_iter, tol)``.

        ``coef`` is full width, ``tol`` that of the last stage.

        Stages of decreasing tolerance until the held-out ``score`` is
        precise; with an L1 part, on the strong rule's columns, repeated with
        the violators of the KKT conditions until there are none.
        """
        coef, intercept = init
        lam = 0.0
        if self.rule is not None:
            penalty = self.penalty.with_C(C)
            lam = penalty.l1_ratio * penalty.strength(self.weights.sum(),
                                                      self.weight_scale)
            self.use(self.rule.columns(lam, coef, intercept))
        if self.precondition(C, init):
            return self._hessian_point(C, init, tolerance, score)
        n_iter, tol, previous = 0, tolerance.first(), None
        while True:
            columns, last = self.columns, tol
            result, stopped = self.solve(C, (coef[:, columns], intercept), tol)
            n_iter += result.n_iter
            coef, intercept = np.zeros_like(coef), result.intercept
            coef[:, columns] = result.coef
            value = score(coef, intercept)
            tol = tolerance.next(tol, value, previous,
                                 moved=result.n_iter > 1)
            previous = value
            if stopped:
                tol = None  # as good as this fit gets
            if tol is None and self.rule is not None:
                late = self.rule.violators(lam, coef, intercept, columns)
                if len(late):
                    self.use(np.union1d(columns, late))
                    tol, previous = tolerance.first(), None
            if tol is None:
                self.n_iter_last = max(self.n_iter_last, n_iter)
                return coef, intercept, n_iter, last

    def _hessian_point(self, C, init, tolerance, score):
        """:meth:`point` with the Hessian root: stages of decreasing
        tolerance until two agree on the held-out score (as without it) and
        one Newton step (the root's Hessian) moves the score by at most
        ``NEWTON_RTOL``.

        Each test misses what the other sees. On nearly separable folds (raw
        digits, ``C = 1e4``) a stage of one preconditioned iteration barely
        moves the loss, two such stages agree, and the score was still
        5.7e-5 off; the Newton step saw it. With label smoothing at ``C =
        1e4`` the Hessian where the point started no longer described its
        end, the Newton step moved the score by under 5e-6 where it was
        1.4e-4 off; the next stage saw it. Here a stage of one iteration
        counts in the agreement (:meth:`ScoreTolerance.next` without
        ``moved``): the Newton step is what confirms it.
        """
        coef, intercept = init
        n_iter, tol, previous = 0, tolerance.first(), None
        while True:
            result, stopped = self.solve(C, (coef, intercept), tol)
            n_iter += result.n_iter
            coef, intercept = result.coef, result.intercept
            value = score(coef, intercept)
            change = abs(score(*self.newton_step(C, coef, intercept)) - value)
            agreed = tolerance.next(tol, value, previous)
            previous = value
            if stopped or tol <= FLOOR or (
                    agreed is None and change <= NEWTON_RTOL * abs(value)):
                return coef, intercept, n_iter, tol
            tol = agreed if agreed is not None else max(tol / STEP, FLOOR)

    def newton_step(self, C, coef, intercept):
        """``(coef, intercept)`` one Newton step (the root's Hessian) on."""
        problem = self.problem(C, self.root.curvature)
        theta = problem.start(coef, intercept)
        _, grad = problem.loss_grad(theta)
        return problem.solution(
            theta - self.root.apply(self.root.apply_transpose(grad)))


# The largest relative change of a point's held-out score that one Newton
# step may make when the point is done (the Hessian root's stage test).
NEWTON_RTOL = 5e-6


def _predict_start(path, C):
    """Start for ``C``: the last solution, extrapolated along the path.

    The solutions move smoothly with ``log C``; a linear step from the last two
    (in the original coordinates) lands closer to the next optimum than the
    last solution alone. None before the first fit (the log priors). On
    digits with 5 folds and 10 Cs from 1e-4 to 1e4 it cut the path's
    iterations from 17,065 to 8,726 (raw) and from 3,689 to 2,595
    (standardized). The problem's ``start`` projects it onto the bounds.
    """
    if not path:
        return None
    log_c, coef, intercept = path[-1]
    if len(path) < 2 or not np.isfinite(C):
        return coef, intercept
    prev_log_c, prev_coef, prev_intercept = path[-2]
    t = (np.log(C) - log_c) / (log_c - prev_log_c)
    return coef + t * (coef - prev_coef), intercept + t * (intercept - prev_intercept)


class _TestScorer:
    """Score ``(coef, intercept)`` on a fold's held-out samples."""

    def __init__(self, path, test, estimator):
        kept = test[~path.targets.ignored[test]]
        self.X = path.X[kept]
        self.scorer = path.scorer
        self.classes = path.targets.classes
        self.values = path.score_values[kept]
        sw = path.sample_weight
        self.weights = np.ones(len(kept)) if sw is None else sw[kept]
        self.eps = np.finfo(path.X.dtype).eps
        self.score_weights = self.weights
        if self.scorer is not None:
            self.y = _take(path.y, kept)
            self.params = _check_method_params(path.X, params=path.score_params,
                                               indices=kept)
            self.model = SoftmaxClassifier()
            self.model.classes_ = self.classes
            self.model.n_features_in_ = path.X.shape[1]
            # ``neg_log_loss`` is the log-loss the stages already compute:
            # the same value, without the scorer's validation of each call
            # (5 ms a point on digits, a tenth of a standardized path).
            if (_is_neg_log_loss(self.scorer) and self.values.ndim == 1
                    and set(self.params) <= {"sample_weight"}):
                weights = self.params.get("sample_weight")
                self.score_weights = (np.ones(len(kept)) if weights is None
                                      else np.asarray(weights, dtype=np.float64))
                self.scorer = None
        self.dtype = path.X.dtype

    def __call__(self, coef, intercept):
        # The fit being scored is done: a later warning is the next fit's.
        _job_log.point += 1
        return self._score(coef, intercept)

    def _score(self, coef, intercept):
        if self.scorer is not None:
            self.model.coef_ = coef.astype(self.dtype)
            self.model.intercept_ = intercept.astype(self.dtype)
            return float(self.scorer(self.model, self.X, self.y, **self.params))
        return self.log_loss(coef, intercept, self.score_weights)

    def log_loss(self, coef, intercept, weights=None):
        """The default score (see ``scoring``), whatever the scoring; with
        ``weights``, weighted by them instead of the fit's weights."""
        weights = self.weights if weights is None else weights
        if not weights.sum() > 0:
            return np.nan
        Z = np.asarray(self.X @ coef.T.astype(self.dtype), dtype=np.float64)
        with np.errstate(invalid="ignore"):
            log_proba = log_softmax(Z + intercept)
        # sklearn.metrics.log_loss clips the probabilities to [eps, 1 - eps].
        log_proba = np.clip(log_proba, np.log(self.eps), np.log1p(-self.eps))
        if self.values.ndim == 1:
            losses = -log_proba[np.arange(len(self.values)), self.values]
        else:
            losses = -np.einsum("ij,ij->i", self.values, log_proba)
        return -float(np.average(losses, weights=weights))


def _is_neg_log_loss(scorer):
    """Whether ``scorer`` is scikit-learn's ``neg_log_loss`` (any labels)."""
    from sklearn.metrics import log_loss
    from sklearn.metrics._scorer import _Scorer

    return (type(scorer) is _Scorer and scorer._score_func is log_loss
            and scorer._sign == -1 and set(scorer._kwargs) <= {"labels"}
            and scorer._response_method == "predict_proba")


def _run_parallel(path, jobs, n_jobs):
    """Run the (fold, l1_ratio) paths, in parallel when ``n_jobs > 1``."""
    parallel = Parallel(n_jobs=n_jobs, prefer="processes")
    # Here for jobs run in this process's threads; a worker process installs
    # its own (see _convergence_hook).
    with _convergence_hook():
        if parallel.n_jobs == 1:
            return [path(*job) for job in jobs]
        # The workers already use the cores: keep BLAS from multiplying them
        # (loky's workers limit themselves; this covers a threading backend).
        with threadpool_limits(limits=1, user_api="blas"):
            return parallel(delayed(path)(*job) for job in jobs)


class _JobLog(threading.local):
    """Per thread: the ConvergenceWarnings of the path job running in it.

    ``entries`` is a list of ``(point, message)`` while a job runs (None
    otherwise); ``point`` counts the path's fits already scored, so a warning
    belongs to the fit scored next.
    """

    entries = None
    point = 0


_job_log = _JobLog()
_hook_installed = False  # in this process (warnings filters are per process)


@contextlib.contextmanager
def _convergence_hook():
    """Send every ConvergenceWarning to the log of the job in its thread.

    :func:`warnings.catch_warnings` changes the filters of the whole process,
    so it is entered once per process, around all the jobs: by the caller for
    jobs run in its threads, by the job itself in a worker process (whose
    warnings would otherwise stay there). ConvergenceWarnings of a thread
    that runs no job, and other warnings, are shown as before.
    """
    global _hook_installed
    if _hook_installed:
        yield
        return
    with warnings.catch_warnings():
        warnings.simplefilter("always", ConvergenceWarning)
        previous = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):
            entries = _job_log.entries
            if entries is None or not issubclass(category, ConvergenceWarning):
                previous(message, category, filename, lineno, file, line)
            else:
                entries.append((_job_log.point, str(message)))

        warnings.showwarning = show
        _hook_installed = True
        try:
            yield
        finally:
            _hook_installed = False


@contextlib.contextmanager
def _convergence_log():
    """Collect this thread's ConvergenceWarnings as ``(point, message)``."""
    entries = []
    _job_log.entries, _job_log.point = entries, 0
    try:
        with _convergence_hook():
            yield entries
    finally:
        _job_log.entries = None


def _warn_unconverged(estimator, unconverged, n_fits, refit_messages):
    """One ConvergenceWarning for a CV fit: which fits stopped early, and why."""
    if not unconverged and not refit_messages:
        return
    parts = []
    if unconverged:
        shown = ", ".join(
            f"(fold {fold + 1}, C={C:.3g}, l1_ratio={l1_ratio:g})"
            if C is not None else f"(fold {fold + 1}, l1_ratio={l1_ratio:g})"
            for fold, C, l1_ratio, _ in unconverged[:10])
        more = len(unconverged) - 10
        chosen = sorted({fold + 1 for fold, C, l1_ratio, _ in unconverged
                         if (C, l1_ratio) == (estimator.C_, estimator.l1_ratio_)})
        parts.append(
            f"{len(unconverged)} of the {n_fits} fits along the path stopped "
            f"before reaching tol={estimator.tol:g}: {shown}"
            + (f" and {more} more" if more > 0 else "") + ". The chosen C_="
            f"{estimator.C_:.3g} (l1_ratio_={estimator.l1_ratio_:g}) "
            + (f"is among them in fold(s) {chosen}: its scores may be off."
               if chosen else "converged in every fold.")
            + f" The first said: {unconverged[0][3]}"
        )
    if refit_messages:
        parts.append(f"The refit on all the data at C_={estimator.C_:.3g}, "
                     f"l1_ratio_={estimator.l1_ratio_:g}: {refit_messages[0]}")
    warn("SoftmaxClassifierCV: " + "\n".join(parts), ConvergenceWarning)


def _grid_bounds(estimator, X, targets, sample_weight, l1_ratios):
    """First ``C`` of each ``l1_ratio``'s grid, and the span of every grid.

    Returns ``(starts, ratio)``: the grid of ``l1_ratios[j]`` runs from
    ``starts[j]`` to ``starts[j] * ratio`` (see the class Notes).
    """
    weights, c_scale = fit_weights(targets, sample_weight, X.shape[0],
                                   estimator.class_weight)
    totals = targets.class_totals(weights)
    S = float(weights.sum())
    if estimator.fit_intercept:
        p = totals / totals.sum()
    else:
        p = np.full(len(totals), 1.0 / len(totals))
    var = _column_variances(X, weights / S, estimator.fit_intercept)
    varying = var[var > 1e-12 * var.max()] if var.max() > 0 else var[:0]
    if not varying.size:  # constant features: every C gives the prior
        return np.ones(len(l1_ratios)), _GRID_RATIO
    spread = max(1.0, float(var.sum()) / (varying.size * np.median(varying)))
    l2_start = 1.0 / (S * (1.0 - float(p @ p)) * float(var.sum()))
    lambda_max = 0.0
    if max(l1_ratios) > 0:
        lambda_max = _l1_lambda_max(estimator, X, targets, weights, totals)
    # Where no penalized coefficient can leave zero, the L2 start stands.
    starts = [r / (S * lambda_max) if r > 0 and lambda_max > 0 else l2_start
              for r in l1_ratios]
    return np.asarray(starts) / c_scale, _GRID_RATIO * spread


def _l1_lambda_max(estimator, X, targets, weights, totals):
    """glmnet's ``lambda_max``: the smallest L1 strength that keeps ``W = 0``.

    The largest entry of the gradient of the mean data term at ``W = 0``, the
    intercepts at the log priors, over the penalty factor, counting only the
    directions the coefficient bounds allow. 0 when nothing can leave zero.
    """
    n_classes, n_features = targets.n_classes, X.shape[1]
    penalty = Penalty.from_params(estimator, n_classes, n_features)
    rule = StrongRule(X, targets, weights, estimator.fit_intercept,
                      penalty.penalty_factor, penalty.lower, penalty.upper)
    rates = rule.rates(*initial_params(n_classes, n_features, totals,
                                       estimator.fit_intercept))
    rates = rates[np.isfinite(rates)]  # unpenalized columns are infinite
    return float(rates.max()) if rates.size else 0.0


def _column_variances(X, w, fit_intercept):
    """Weighted variance of each column (second moment without intercept)."""
    amax, _, var = column_moments(X, w, fit_intercept)
    return var * amax**2


def _subset(targets, rows):
    """A fresh :class:`Targets` for some rows (fits may rewrite their values)."""
    return Targets(targets.classes, targets.values[rows], targets.ignored[rows],
                   targets.kernel_smoothing)


def _keep_classes(targets, present):
    """Targets over the present classes only (codes renumbered, columns dropped).

    Samples of an absent class have zero weight, so where they point does not
    matter.
    """
    if present.all():
        return targets
    if targets.is_soft:
        values = targets.values[:, present]
    else:
        values = np.maximum(np.cumsum(present) - 1, 0)[targets.values]
    return Targets(targets.classes[present], values, targets.ignored,
                   targets.kernel_smoothing)


def _mean_over_folds(coefs, intercepts):
    """Mean of the folds' solutions, each class over the folds that fitted it."""
    fitted = np.isfinite(intercepts)  # (n_folds, n_classes)
    counts = np.maximum(fitted.sum(axis=0), 1)
    coef = coefs.sum(axis=0) / counts[:, None]
    intercept = np.where(fitted, intercepts, 0.0).sum(axis=0) / counts
    return coef, intercept


def _check_l1_ratios(l1_ratios):
    values = np.asarray(l1_ratios, dtype=np.float64).ravel()
    if values.size == 0 or not np.all((values >= 0) & (values <= 1)):
        raise ValueError(
            f"l1_ratios must be numbers in [0, 1]; got {l1_ratios!r}."
        )
    return [float(v) for v in values]


def _reject_backends(X):
    """Dask and array-API inputs: say what to use instead."""
    backend = _backend_for(X)
    if backend is None:
        return
    if backend.__name__.endswith("_dask"):
        raise ValueError(
            "SoftmaxClassifierCV needs X in memory (a NumPy array or SciPy "
            "sparse matrix); it got a Dask collection. Compute it first "
            "(X.compute(), y.compute()) if it fits in memory; otherwise fit "
            "SoftmaxClassifier on the Dask arrays for each C and compare the "
            "log-loss on a held-out Dask split."
        )
    raise ValueError(
        "SoftmaxClassifierCV needs X in memory as a NumPy array or SciPy sparse "
        f"matrix; it got {type(X).__name__} under array_api_dispatch. Convert "
        "it to NumPy, or fit SoftmaxClassifier (which runs on this namespace) "
        "with sklearn.model_selection.GridSearchCV."
    )


def _parameters(func):
    try:
        return inspect.signature(func).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins
        return {}


def _take(y, rows):
    if hasattr(y, "iloc"):
        return y.iloc[rows]
    return np.asarray(y)[rows]
