"""The fitter: L-BFGS-B on a problem, restarts, warnings, carried curvature.

Every fit runs the same steps, whichever backend computed the data term and
whether it is one fit or a point of a path::

    start      the starting (coef, intercept) mapped into the problem's x
    precondition   with the previous run's curvature pairs, if any, when
               the problem is smooth (sksoftmax._carry)
    minimize   L-BFGS-B (sksoftmax._solver), restarted while bounds stall it
    warn       a ConvergenceWarning that says why, when it did not converge
    carry      this run's curvature pairs, for a path's next run
    finish     coef and intercept in original units, intercepts centred

:class:`Fitter` holds the settings (``tol``, ``max_iter``, ...) and keeps no
state between fits: what it carries comes back in the :class:`FitResult`.
:func:`fit_estimator` is the end of every backend's ``fit``: the penalty of
the estimator's parameters, the problem, the start (warm or cold) and the
fitted ``n_iter_``, ``loss_`` and ``loss_curve_``.
"""

import dataclasses

import numpy as np
import scipy.sparse as sp

from sksoftmax._callbacks import lbfgs_callback
from sksoftmax._carry import (
    CurvaturePairs,
    InverseHessianRoot,
    PreconditionedProblem,
)
from sksoftmax._hessian import DenseHessianRoot, iterations_worth
from sksoftmax._penalty import Penalty
from sksoftmax._problem import PenalizedProblem
from sksoftmax._solver import meets_tol, minimize_lbfgs, warn_not_converged
from sksoftmax._working_set import solve_working_set, working_set_applies

# Restarts of L-BFGS-B on a bounded problem (see Fitter._minimize).
_MAX_RESTARTS = 5
# Iterations before a single fit forms the Hessian, at least: a fit that
# well-conditioned L-BFGS ends sooner gains little from it, and keeps the
# plain run's iterates (those of every fit before the Hessian existed).
_HESSIAN_AFTER = 100


@dataclasses.dataclass
class FitResult:
    """What :meth:`Fitter.fit` found.

    Attributes
    ----------
    coef : ndarray of shape (n_classes, n_features)
        float64 coefficients.
    intercept : ndarray of shape (n_classes,)
        float64 intercepts, centred to sum to zero when fitted.
    n_iter : int
        L-BFGS iterations, restarts included.
    loss : float
        Objective at the solution.
    loss_curve : list of float
        Objective after each iteration.
    converged : bool
        Whether the stopping rule (or a callback) ended the run.
    pairs : CurvaturePairs or None
        This run's last correction pairs, for the next run of a path (only
        when the fitter keeps them, and the problem has no bounds).
    """

    coef: np.ndarray
    intercept: np.ndarray
    n_iter: int
    loss: float
    loss_curve: list
    converged: bool
    pairs: CurvaturePairs = None


@dataclasses.dataclass
class Fitter:
    """L-BFGS-B settings, and the steps of one fit.

    Parameters
    ----------
    tol, max_iter, max_fun, history_size, verbose
        As in :class:`~sksoftmax.SoftmaxClassifier`.
    dtype : dtype, default=np.float64
        The dtype the objective computes in: its rounding floor is where a
        stall counts as convergence.
    callback : callable, default=None
        ``callback(problem, x0)`` returning the per-iteration bridge of
        :func:`~sksoftmax._callbacks.lbfgs_callback` (or None).
    keep_pairs : bool, default=False
        Return this run's curvature pairs in :attr:`FitResult.pairs` (a
        path's next run starts with them). They are as large as ten
        ``coef_``.
    warn : bool, default=True
        Warn when the run stops before ``tol`` (a path's stage tighter than
        the user's ``tol`` does not).
    """

    tol: float
    max_iter: int
    max_fun: int = 15000
    history_size: int = 10
    verbose: int = 0
    dtype: object = np.float64
    callback: object = None
    keep_pairs: bool = False
    warn: bool = True

    @classmethod
    def from_params(cls, params, **settings):
        """The fitter of an estimator's parameters (``settings`` override)."""
        names = ("tol", "max_iter", "max_fun", "history_size", "verbose")
        return cls(**{**{n: getattr(params, n) for n in names}, **settings})

    def fit(self, problem, start, carried=None, root=None, refresh=None,
            refresh_every=None):
        """Minimize ``problem`` from ``start``: a :class:`FitResult`.

        ``start`` is ``(coef, intercept)`` in original units; ``carried`` the
        previous run's :class:`~sksoftmax._carry.CurvaturePairs` (any objective of
        the same path), or None; ``root`` a
        :class:`~sksoftmax._hessian.DenseHessianRoot` of this problem's
        objective, which preconditions the run instead of ``carried``.
        ``refresh(objective, theta)`` gives a Hessian root at ``theta``:
        with it, a smooth problem without bounds runs in chunks of
        ``refresh_every`` iterations, and where a chunk stalls or does not
        end, goes on with the Hessian there (see :meth:`_newton_lbfgs`).
        """
        no_penalty = np.isinf(problem.penalty.C)
        x0 = problem.start(*start)
        smooth_problem = problem
        problem, x0 = self._precondition(problem, x0, carried, root)
        bridge = None if self.callback is None else self.callback(problem, x0)
        if (refresh is not None and bridge is None and smooth_problem.smooth
                and smooth_problem.bounds is None):
            problem, result = self._newton_lbfgs(smooth_problem, problem, x0,
                                                 refresh, refresh_every)
        else:
            result = self._minimize(problem, x0, bridge)
        if bridge is not None:
            bridge.close()
        if self.warn and not result.converged and self.max_iter > 0:
            warn_not_converged(result, self.max_iter, tol=self.tol,
                               dtype=self.dtype,
                               no_penalty=no_penalty)
        coef, intercept = problem.solution(result.x)
        if problem.objective.fit_intercept:
            intercept = intercept - intercept.mean()
        return FitResult(coef, intercept, int(result.n_iter), float(result.fun),
                         [float(v) for v in result.loss_curve],
                         result.converged, self._carry(problem, result))

    def _precondition(self, problem, x0, carried, root=None):
        """The problem in ``u`` (:mod:`sksoftmax._carry`) when pairs or a
        Hessian root apply."""
        if not problem.smooth or problem.bounds is not None:
            return problem, x0
        if root is None and carried is not None:
            pairs = carried.to(problem.objective)
            if pairs is not None:
                root = InverseHessianRoot(pairs.s, pairs.y)
        if root is None:
            return problem, x0
        problem = PreconditionedProblem(problem, x0, root)
        return problem, problem.x0

    def _newton_lbfgs(self, problem, running, x0, refresh, every):
        """L-BFGS-B in chunks of ``every`` iterations; where a chunk stalls or
        does not end, the next runs in the coordinates of the Hessian there:
        ``(problem as last run, result)``.

        ``running`` is ``problem`` as the first chunk runs it (plain, or
        preconditioned by carried pairs or a Hessian root), from ``x0``. A
        chunk that does not end has cost as much as a Hessian (the caller's
        ``every``), so the Hessian can at most double a run's cost. A Hessian
        taken far from the optimum can be a worse conditioning than none
        (nearly separable data, where the curvature fades as the
        probabilities sharpen: raw digits at C=100 from zero took 6,022
        iterations with the Hessian at zero, 1,626 without), and leaves
        L-BFGS-B stalled at the optimum unable to tell, its gap estimate
        reading the flattest step it took. The Hessian where a chunk ended
        tells: its Newton decrement is the gap. A chunk whose end gained
        nothing on the last Hessian's start ends the run.
        """
        total, f_root = None, np.inf  # f_root: the loss where the root was taken
        while True:
            done = (0, 0) if total is None else (total.n_iter,
                                                 total.n_evaluations)
            left = (self.max_iter - done[0], self.max_fun - done[1])
            budget = (min(every or left[0], left[0]), left[1])
            result = self._minimize(running, x0, None, budget=budget)
            if total is not None:
                result.n_iter += total.n_iter
                result.n_evaluations += total.n_evaluations
                result.loss_curve = total.loss_curve + result.loss_curve
            total = result
            if (result.converged or result.reason not in ("stall", "max_iter")
                    or result.n_iter >= self.max_iter
                    or result.n_evaluations >= self.max_fun - 1):
                return running, result
            theta = running.theta(result.x)
            f, grad = problem.loss_grad(theta)
            if f >= f_root:  # nothing gained since the last Hessian
                return running, result
            f_root = f
            root = refresh(problem.objective, theta)
            running = PreconditionedProblem(problem, theta, root)
            x0 = running.x0
            gap = _decrement(root, grad)
            if self.verbose:
                # The solver's lines count each chunk's iterations from 1.
                print(f"Hessian after {result.n_iter} iterations: Newton "
                      f"decrement gap {gap / f if f else gap:.1e}; the next "
                      "iterations run in its coordinates", flush=True)
            if meets_tol(f, gap, self.tol) and meets_tol(f, result.grad_max,
                                                         self.tol):
                result.converged, result.reason, result.gap = True, "tol", gap
                result.message = "Newton decrement <= tol * objective"
                result.x = running.x0
                return running, result

    def _carry(self, problem, result):
        """This run's pairs in the objective's ``theta``, or None."""
        if (not self.keep_pairs or result.pairs is None
                or problem.bounds is not None):
            return None
        s, y = result.pairs
        if isinstance(problem, PreconditionedProblem):
            s, y = problem.pairs_in_theta(s, y)
        return CurvaturePairs(s, y, problem.objective)

    def _minimize(self, problem, x0, bridge, budget=None):
        """L-BFGS-B on ``problem``, restarted while bounds stall it.

        With bounds (the L1 split among them), L-BFGS-B can stop on its
        relative-decrease test while the projected gradient is still far
        above ``tol`` (raw wine with ``C=10, l1_ratio=0.5``: 4e-5 after 105
        iterations, the objective 2e-4 above the optimum), or end on a
        failed line search: its curvature pairs no longer describe the face
        it moves on. A restart from the last iterate with an empty history
        gets there (200 more iterations); at most 5 restarts, within
        ``max_iter`` and ``max_fun``. Fits without bounds are run once. L1
        fits run by working sets (:mod:`sksoftmax._working_set`), which come
        back here with the ``budget`` (iterations, evaluations) they left
        where the set does not settle.
        """
        eps = float(np.finfo(self.dtype).eps)
        if budget is None and working_set_applies(problem):
            return solve_working_set(
                problem, x0, max_iter=self.max_iter, max_fun=self.max_fun,
                tol=self.tol, eps=eps, history_size=self.history_size,
                verbose=self.verbose, callback=bridge,
                fallback=lambda x, it, fun: self._minimize(
                    problem, x, bridge, budget=(it, fun)))
        max_iter, max_fun = budget or (self.max_iter, self.max_fun)
        options = dict(tol=self.tol, history_size=self.history_size,
                       verbose=self.verbose, callback=bridge,
                       bounds=problem.bounds, eps=eps,
                       rule=problem.rule_gradient)
        result = minimize_lbfgs(problem.loss_grad, x0, max_iter=max_iter,
                                max_fun=max_fun, **options)
        for _ in range(_MAX_RESTARTS if problem.bounds is not None else 0):
            left = max_iter - result.n_iter
            left_fun = max_fun - result.n_evaluations
            if (left <= 0 or left_fun <= 1
                    or "callback" in result.message.lower()
                    or result.converged):
                break
            more = minimize_lbfgs(problem.loss_grad, result.x, max_iter=left,
                                  max_fun=left_fun, **options)
            if more.fun >= result.fun and not more.converged:
                break  # a failed line search again, without progress
            more.n_iter += result.n_iter
            more.n_evaluations += result.n_evaluations + 1
            more.loss_curve = result.loss_curve + more.loss_curve
            result = more
        return result


def _decrement(root, grad):
    """The squared Newton decrement ``g' H^{-1} g`` of a Hessian root: the
    gap the Newton route reads.

    It bounds ``f - f*`` near the optimum of a self-concordant ``f`` (Boyd
    and Vandenberghe, 9.6.3), twice the quadratic model's decrease. The
    cross-entropy is not self-concordant: where the curvature fades (nearly
    separable rows) it can still fall short.
    """
    return float(np.sum(root.apply_transpose(grad) ** 2))


def initial_params(n_classes, n_features, class_totals, fit_intercept):
    """The cold start: zero coefficients, intercepts at the log priors.

    ``class_totals`` is the total weight of each class; without intercept,
    the intercepts are zero.
    """
    coef = np.zeros((n_classes, n_features))
    if not fit_intercept:
        return coef, np.zeros(n_classes)
    priors = np.asarray(class_totals, dtype=np.float64)
    log_priors = np.log(np.maximum(priors / priors.sum(), 1e-12))
    return coef, log_priors - log_priors.mean()


def fit_estimator(estimator, objective, class_totals, *, weight_scale, dtype,
                  classes=None, host=None):
    """The steps of ``fit`` after a backend's data pass, for every backend.

    Validates the penalty of ``estimator``'s parameters, builds the problem,
    starts from the previous solution (``warm_start``) or the cold start,
    fits, sets ``n_iter_``, ``loss_`` and ``loss_curve_`` and returns the
    :class:`FitResult`.

    Parameters
    ----------
    estimator : SoftmaxClassifier
        The estimator being fitted (inside its callbacks' fit task).
    objective : Objective
        The data term (any backend's row sums), conditioned, without penalty.
    class_totals : ndarray of shape (n_classes,)
        Total weight of each class (for the log-prior start).
    weight_scale : float
        The power of two of :func:`~sksoftmax._targets.fit_weights`.
    dtype : dtype
        The dtype the objective computes in.
    classes : ndarray, default=None
        Labels of this fit, for the intermediate models that scikit-learn
        callbacks may evaluate; None gives them none.
    host : callable, default=None
        Brings a backend's fitted ``coef_`` and ``intercept_`` to NumPy for a
        warm start; None when they are NumPy already.
    """
    K, d = objective.n_classes, objective.n_features
    penalty = Penalty.from_params(estimator, K, d)
    problem = PenalizedProblem(objective, penalty, weight_scale=weight_scale)
    fitter = Fitter.from_params(
        estimator, dtype=np.dtype(dtype),
        callback=lambda problem, x0: lbfgs_callback(estimator, problem, x0,
                                                    classes))
    start = _start(estimator, K, d, class_totals)
    # A fit that takes longer than forming the Hessian costs goes on with it
    # (Fitter._newton_lbfgs); shorter fits never form it. The route depends
    # on the data's kind and shape only: every backend takes the same one.
    refresh = every = None
    if objective.hessian_applies():
        refresh = DenseHessianRoot.at
        every = max(_HESSIAN_AFTER, iterations_worth(
            objective.row_sums.n_samples, d, objective.n_params))
    result = fitter.fit(problem, start if host is None else tuple(map(host, start)),
                        refresh=refresh, refresh_every=every)
    estimator.n_iter_ = result.n_iter
    estimator.loss_ = result.loss
    estimator.loss_curve_ = result.loss_curve
    return result


def _start(estimator, n_classes, n_features, class_totals):
    """Previous solution (``warm_start``) or the cold start."""
    coef = getattr(estimator, "coef_", None)
    if estimator.warm_start and coef is not None and (
            coef.shape == (n_classes, n_features)):
        return (coef.toarray() if sp.issparse(coef) else coef), \
            estimator.intercept_
    return initial_params(n_classes, n_features, class_totals,
                          estimator.fit_intercept)
