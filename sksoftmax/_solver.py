"""One thin wrapper around SciPy's L-BFGS-B: the stopping rule, history, warnings.

The stopping rule bounds the gap to the optimum: L-BFGS stops when an estimate
of ``f - f*`` is at most ``tol`` times the objective (below a mean loss of
1e-4 nats the scale stays at 1e-4: without a penalty on separable data there
is no optimum) **and** the largest gradient component, in the coordinates of
the rule, is too (the former gradient rule, kept so that no fit stops sooner
than it did: on well-curved problems the gradient test is the later one, and
the coefficients, not only the objective, then match a tight reference to a
few digits). The estimate is ``g' H g / 2`` by the two-loop recursion over
the last ``history_size`` pairs of the iterates the callback saw, all in the
solver's own coordinates (so it does not depend on any conditioning), with the
initial matrix ``gamma I`` set by the *flattest* curvature ``s's / s'y`` of the
last 30 steps rather than L-BFGS's last ``s'y / y'y``. With L-BFGS's own
scaling the estimate fell 10 to 4,000 times below the true gap on problems
with many classes and few samples each or a weak penalty (the curvature of the
directions the last pairs did not explore is far smaller); with the flattest
one it stayed within about 4x near the stop, and the six benchmark problems
stop no later than under the former gradient rule. With bounds the estimate
covers the free variables. Without bounds it is also at least the loss
curve's tail (:func:`tail_gap`): the pairs can still miss the flattest
directions (under OpenBLAS's Sandybridge kernel a 110-class fit stopped 1.7e-3
above its optimum with an estimate of 1.9e-5). The starting point, where no
pair exists, must meet the stricter gradient test (largest component in the
coordinates of the rule at most ``tol`` times the objective), so a warm start
at the optimum runs at most one iteration.

Below the precision of floating point the rule cannot be met; L-BFGS-B then
ends on a line search that finds no decrease. That counts as converged when
the estimated gap is within ``sqrt(eps)`` of the objective (capped at 2e-5, so
that a float32 stall ends silently only near the optimum; float32 fits of
nearly separable data stall up to 3.4e-4 above it, and warn). SciPy's
relative-decrease test is off (``ftol=0``): at 64 float64 epsilons
(scikit-learn's choice) it ended unpenalized fits with ``tol=1e-13`` while
coefficients still moved in their fifth digit.
"""

import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning

from sksoftmax._threads import limit_blas
from sksoftmax._warnings import warn

_EPS64 = float(np.finfo(np.float64).eps)


@dataclass
class SolverResult:
    """What :func:`minimize_lbfgs` found.

    Attributes
    ----------
    x : ndarray
        The last iterate.
    fun : float
        Objective at ``x``.
    n_iter : int
        Number of L-BFGS iterations.
    n_evaluations : int
        Number of objective + gradient evaluations.
    loss_curve : list of float
        Objective after each iteration.
    converged : bool
        Whether the stopping rule, the rounding floor or a callback (not an
        iteration or evaluation limit, not a stall above the rounding floor)
        ended the run.
    message : str
        Why the run ended.
    grad_max : float
        Largest gradient component at ``x``.
    reason : str
        ``"tol"``, ``"rounding"``, ``"callback"``, ``"max_iter"``,
        ``"max_fun"``, ``"stall"`` or ``"no_iteration"``.
    pairs : tuple of ndarray or None
        ``(s, y)``, L-BFGS's last correction pairs (steps and gradient
        changes, oldest first), each of shape (n_pairs, n_params); None when
        no iteration ran.
    gap : float
        Estimated ``f - f*`` at ``x`` (:meth:`CurvatureMemory.gap`); inf
        where no curvature was measured, NaN when no iteration ran.
    """

    x: np.ndarray
    fun: float
    n_iter: int
    n_evaluations: int
    loss_curve: list = field(default_factory=list)
    converged: bool = True
    message: str = ""
    grad_max: float = np.nan
    reason: str = "tol"
    pairs: tuple = None
    gap: float = np.nan


class _Progress:
    """Per-iteration bookkeeping: the stopping rule, loss curve, verbose lines,
    callbacks."""

    def __init__(self, fun, verbose, callback, tol, bounds=None, rule=None,
                 history_size=10):
        self.fun = fun
        self.bounds = bounds
        self.rule = rule
        self.verbose = verbose
        self.callback = callback
        self.tol = tol
        self.loss_curve = []
        self.n_evaluations = 0
        self.last = (None, None, None)  # (x, f, g) of the latest evaluation
        self.start = time.perf_counter()
        self.stop_reason = None
        self.curvature = CurvatureMemory(history_size)
        self._gap = None  # the estimated gap at the latest iterate, once asked

    def evaluate(self, x):
        x_last, f_last, g_last = self.last
        if x_last is not None and np.array_equal(x, x_last):
            return f_last, g_last  # L-BFGS-B's first call repeats x0
        self.n_evaluations += 1
        f, g = self.fun(x)
        self.last = (x.copy(), f, g)
        return f, g

    def grad_at(self, x):
        return self.evaluate(x)[1]  # the latest evaluation, as a rule

    def grad_max(self, x):
        """Largest component of the (projected) gradient at ``x``, in the
        coordinates of the rule."""
        grad = projected_gradient(x, self.grad_at(x), self.bounds)
        if self.rule is not None:
            grad = self.rule(grad)
        return float(np.max(np.abs(grad)))

    def observe(self, x):
        """Record the iterate ``x``; its gap is estimated when first asked."""
        self.curvature.update(x, self.grad_at(x))
        self._gap = None

    @property
    def gap(self):
        """Estimated gap at the latest iterate (inf before the first)."""
        if self._gap is None:
            x, grad = self.curvature.previous or (None, None)
            # The loss curve's tail only without bounds: where a bound
            # stops a variable, the decrease changes pace without telling
            # what is left.
            tail = 0.0 if self.bounds is not None else tail_gap(self.loss_curve)
            self._gap = (np.inf if x is None
                         else max(self.curvature.gap(x, grad, self.bounds), tail))
        return self._gap

    def __call__(self, intermediate_result):
        x, f = intermediate_result.x, float(intermediate_result.fun)
        self.loss_curve.append(f)
        grad_max = self.grad_max(x)
        self.observe(x)
        # The gap (two-loop recursion, 10-15% of a small fit) only where it
        # can decide: the gradient test must pass too.
        gap = self.gap if self.verbose or meets_tol(f, grad_max, self.tol) else None
        if self.verbose:
            print(
                f"iter {len(self.loss_curve):4d}  objective {f:.10e}  "
                f"max|grad| {grad_max:.3e}  gap {gap / f if f else gap:.1e}  "
                f"time {time.perf_counter() - self.start:.3f}s",
                flush=True,
            )
        if self.callback is not None and self.callback(
            x, f, grad_max, len(self.loss_curve)
        ):
            self.stop_reason = "callback"
            raise StopIteration
        if (meets_tol(f, grad_max, self.tol) and gap is not None
                and meets_tol(f, gap, self.tol)):
            self.stop_reason = "tol"
            raise StopIteration


# Below this mean cross-entropy (in nats: every training probability above
# 0.9999) the rule stops scaling with the loss. Without a penalty on separable
# data the loss falls towards 0 and no optimum exists; the floor ends such
# fits where their probabilities no longer change, instead of at max_iter.
_LOSS_FLOOR = 1e-4


def meets_tol(f, gap, tol):
    """The stopping rule: ``gap <= tol * max(f, 1e-4)``.

    ``f`` is the objective (nonnegative: a cross-entropy plus a penalty);
    ``gap`` the estimated distance ``f - f*`` to the optimum's objective (see
    :meth:`CurvatureMemory.gap`), or, at a starting point where no curvature
    is known yet, the largest gradient component in the coordinates of the
    rule (the stricter test there).
    """
    return gap <= tol * max(abs(f), _LOSS_FLOOR)


_FLAT_WINDOW = 30
_TAIL_WINDOWS = (10, 30, 100)


def tail_gap(loss_curve, windows=_TAIL_WINDOWS):
    """What the loss curve says is left of ``f - f*``.

    For each window, the decrease over the last ``window`` iterations,
    continued as a geometric series at the ratio of the last two windows'
    decreases; the largest over the windows (short ones follow a fast
    descent, long ones average the irregular steps of a slow tail). It
    catches the slow tails where the curvature of the last pairs misses the
    flattest directions; 0 before ``2 * window`` iterations.
    """
    return max((_geometric_tail(loss_curve, w) for w in windows), default=0.0)


def _geometric_tail(loss_curve, window):
    if len(loss_curve) <= 2 * window:
        return 0.0
    last = loss_curve[-1 - window] - loss_curve[-1]
    before = loss_curve[-1 - 2 * window] - loss_curve[-1 - window]
    if last <= 0:
        return 0.0
    ratio = min(last / before, 0.999) if before > 0 else 0.999
    return last * ratio / (1 - ratio)


class CurvatureMemory:
    """The last correction pairs of the iterates seen, and the gap they give.

    Near the optimum ``f(x) - f* ~ g' H^{-1} g / 2``, ``g`` the gradient at
    ``x`` and ``H`` the Hessian there. L-BFGS's inverse Hessian of the last
    ``history_size`` pairs ``(s, y)`` (steps between consecutive iterates and
    their gradient changes, all in the solver's own coordinates, where the
    estimate does not depend on any scaling) gives it by the two-loop
    recursion in ``O(history_size * n_params)``. With bounds the estimate is
    that of the free variables: the projected gradient, pairs restricted to
    the variables it does not block.

    Parameters
    ----------
    history_size : int
        Number of pairs kept.
    """

    def __init__(self, history_size, flat_window=_FLAT_WINDOW):
        self.pairs = deque(maxlen=max(int(history_size), 1))
        # 1 / curvature along each recent step: the largest is L-BFGS's H0.
        self.flatness = deque(maxlen=max(int(flat_window), 1))
        self.previous = None

    def update(self, x, grad):
        """Add the pair from the previous iterate to ``x`` (gradient ``grad``).

        Pairs without positive curvature are skipped, as L-BFGS-B does.
        """
        grad = np.array(grad, dtype=np.float64)
        if self.previous is not None:
            s, y = x - self.previous[0], grad - self.previous[1]
            sy = s @ y
            if sy > _EPS64 * (y @ y):
                self.pairs.append((s, y, sy))
                self.flatness.append(float(s @ s) / sy)
        self.previous = (np.array(x, dtype=np.float64), grad)

    def gap(self, x, grad, bounds=None):
        """``g' H g / 2`` at ``x`` (gradient ``grad``); inf without pairs."""
        if bounds is None:  # every pair kept has positive curvature
            q, pairs = np.array(grad, dtype=np.float64), self.pairs
        else:
            free = ~_blocked(x, grad, bounds)
            q = np.array(grad[free], dtype=np.float64)
            pairs = [(s[free], y[free]) for s, y, _ in self.pairs]
            pairs = [(s, y, s @ y) for s, y in pairs]
            pairs = [(s, y, sy) for s, y, sy in pairs if sy > _EPS64 * (y @ y)]
        if not pairs:
            return np.inf
        g = q.copy()
        alphas = []
        for s, y, sy in reversed(pairs):
            alpha = (s @ q) / sy
            q -= alpha * y
            alphas.append(alpha)
        r = q * max(self.flatness)
        for (s, y, sy), alpha in zip(pairs, reversed(alphas), strict=True):
            r += s * (alpha - (y @ r) / sy)
        return 0.5 * float(g @ r)


def minimize_lbfgs(fun, x0, *, max_iter, tol, history_size=10, max_fun=15000,
                   verbose=0, callback=None, eps=_EPS64, bounds=None,
                   rule=None):
    """Minimize ``fun`` with ``scipy.optimize.minimize(method="L-BFGS-B")``.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> (value, gradient)`` with a float64 gradient.
    x0 : ndarray of shape (n_params,)
        Starting point.
    max_iter : int
        Maximum number of iterations; 0 returns ``x0`` after one evaluation.
    tol : float
        Stop when the estimated gap (:class:`CurvatureMemory`) and the largest
        gradient component are both at most ``tol`` times the objective (at
        ``x0``, where no curvature is known, the gradient alone).
    history_size : int, default=10
        Number of correction pairs L-BFGS keeps (SciPy's ``maxcor``).
    max_fun : int, default=15000
        Maximum number of evaluations.
    verbose : int, default=0
        Print one line per iteration when positive.
    callback : callable, default=None
        ``callback(x, fun, grad_max, n_iter)`` after each iteration; returning
        True stops the solver.
    eps : float, default=np.finfo(np.float64).eps
        Machine epsilon of the arithmetic ``fun`` runs in: a stall with an
        estimated gap within ``sqrt(eps) * fun`` (at most ``2e-5 * fun``) is
        at the rounding floor and counts as convergence.
    bounds : scipy.optimize.Bounds, default=None
        Box constraints on ``x``; None for none. With bounds, the rule applies
        to the projected gradient (zero for a component at a bound whose
        gradient points outward).
    rule : callable, default=None
        ``rule(gradient)``: the (projected) gradient the stopping rule reads,
        when it is read in other coordinates than the solver's (see
        :meth:`~sksoftmax._problem.PenalizedProblem.rule_gradient`); None
        reads the gradient as it is.

    Returns
    -------
    result : SolverResult
    """
    progress = _Progress(fun, verbose, callback, tol, bounds, rule, history_size)
    x0 = np.asarray(x0, dtype=np.float64)
    done = _at_start(progress, x0, max_iter, tol)
    if done is not None:
        return done
    with limit_blas():
        res = scipy.optimize.minimize(
            progress.evaluate, x0, method="L-BFGS-B", jac=True,
            callback=progress, bounds=bounds,
            options={
                "maxiter": max_iter,
                "maxfun": max_fun,
                "maxcor": history_size,
                "gtol": 0.0,  # the relative rule is checked in the callback
                "ftol": 0.0,  # see the module docstring
                "maxls": 50,
            },
        )
    x, f = np.asarray(res.x), float(res.fun)
    grad_max = progress.grad_max(x)
    if not np.array_equal(x, progress.curvature.previous[0]):
        progress.observe(x)
    gap = progress.gap
    loss_curve = progress.loss_curve
    if loss_curve and loss_curve[-1] != f:
        loss_curve[-1] = f  # pragma: no cover - defensive
    reason = _reason(res, progress.stop_reason, f, gap, grad_max, tol, eps,
                     max_iter)
    converged = reason in ("tol", "rounding", "callback")
    message = {"tol": "estimated gap <= tol * objective",
               "callback": "stopped by a callback"}.get(reason, str(res.message))
    return SolverResult(x, f, int(res.nit), progress.n_evaluations, loss_curve,
                        converged, message, grad_max, reason,
                        _last_pairs(res, history_size), gap)


def _at_start(progress, x0, max_iter, tol):
    """The result at ``x0`` when no iteration is to run, else None."""
    f0, _ = progress.evaluate(x0)
    g0_max = progress.grad_max(x0)
    progress.curvature.update(x0, progress.grad_at(x0))
    # No curvature is known at the start: the gradient itself must meet tol.
    if max_iter != 0 and not meets_tol(f0, g0_max, tol):
        return None
    reason = "no_iteration" if max_iter == 0 else "tol"
    message = ("max_iter=0: no iteration was run" if max_iter == 0
               else "the starting point meets tol")
    return SolverResult(x0.copy(), float(f0), 0, 1, [], max_iter != 0,
                        message, g0_max, reason)


def _last_pairs(res, history_size):
    """L-BFGS-B's correction pairs, oldest first, or None.

    SciPy returns its workspace as it lies: a ring of ``history_size`` slots
    in which the step of iteration ``k`` (counted from 0) went to slot
    ``k % history_size`` at the start of iteration ``k + 1``, so the last
    step is not among them. One update per iteration (L-BFGS-B skips one
    only when its curvature is not positive) puts the oldest at slot
    ``(n_iter - 1) % history_size``.
    """
    hess_inv = getattr(res, "hess_inv", None)
    s, y = getattr(hess_inv, "sk", None), getattr(hess_inv, "yk", None)
    if s is None or not len(s):
        return None
    if len(s) == history_size:
        oldest = (int(res.nit) - 1) % history_size
        s, y = np.roll(s, -oldest, axis=0), np.roll(y, -oldest, axis=0)
    return np.array(s), np.array(y)


def _blocked(x, grad, bounds):
    """Variables at a bound whose gradient points out of the box."""
    return ((x <= bounds.lb) & (grad > 0)) | ((x >= bounds.ub) & (grad < 0))


def projected_gradient(x, grad, bounds):
    """The gradient with the components that point out of the box zeroed.

    ``x`` lies inside ``bounds`` (a ``scipy.optimize.Bounds``; None returns
    ``grad``). Zero at a KKT point of the box-constrained problem.
    """
    if bounds is None:
        return grad
    return np.where(_blocked(x, grad, bounds), 0.0, grad)


def _reason(res, stop_reason, f, gap, grad_max, tol, eps, max_iter):
    """Why L-BFGS-B ended: one of the reasons of :class:`SolverResult`."""
    if stop_reason is not None:
        return stop_reason
    if (meets_tol(f, gap, tol) and meets_tol(f, grad_max, tol)) or grad_max == 0:
        return "tol"  # e.g. an exactly zero gradient (SciPy's gtol=0 test)
    # status 2: the line search found no decrease (status 0 with ftol=0: an
    # iteration that decreased nothing).
    if res.status in (0, 2) and at_rounding_floor(f, gap, eps):
        return "rounding"
    if res.nit >= max_iter:
        return "max_iter"
    if res.status == 1:
        return "max_fun"
    return "stall"


# A stall counts as the rounding floor when its estimated relative gap is
# within sqrt(eps) (float64: 1.5e-8), capped so that a float32 stall ends
# silently only within 1e-4 of the optimum (the estimate was measured up to
# about 4x below the true gap near the stop).
_ROUNDING_CAP = 2e-5


def at_rounding_floor(f, gap, eps):
    """Whether a stalled run is as close to the optimum as rounding allows."""
    return meets_tol(f, gap, min(np.sqrt(eps), _ROUNDING_CAP))


def warn_not_converged(result, max_iter, *, tol, dtype=np.float64,
                       no_penalty=False):
    """Raise a ``ConvergenceWarning`` that says what happened and what to do.

    ``result`` is an unconverged :class:`SolverResult`; ``max_iter`` and
    ``tol`` were in force; ``dtype`` is the dtype the objective was computed
    in. With ``no_penalty`` (``C=inf``) separable data have no optimum, which
    the advice for ``max_iter`` mentions.
    """
    relative = result.gap / result.fun if result.fun else np.inf
    where = (f"estimated gap / objective = {relative:.1e} where tol={tol:g} "
             "was asked")
    if result.reason == "max_iter":
        advice = (
            f"L-BFGS stopped after max_iter={max_iter} iterations before "
            f"reaching tol ({where}). Increase max_iter, or loosen tol if this "
            "precision is enough."
        )
        if no_penalty:
            advice += (" A fit without penalty (C=inf) on separable data has "
                       "no optimum: use a finite C.")
    elif result.reason == "max_fun":
        advice = (
            f"L-BFGS stopped after max_fun={result.n_evaluations} evaluations "
            f"before reaching tol ({where}). Increase max_fun."
        )
    elif np.dtype(dtype) == np.float32:
        advice = (
            f"L-BFGS could not decrease the objective further in float32 "
            f"({where}; {result.message}). Fit on float64 data for more "
            "precision, or loosen tol."
        )
    else:
        advice = (
            f"L-BFGS could not decrease the objective further ({where}; "
            f"{result.message}). This is above the rounding floor: check the "
            "data for non-finite or extreme values and for duplicated or "
            "extremely collinear columns, or increase the regularization "
            "(smaller C)."
        )
    warn(advice, ConvergenceWarning)
