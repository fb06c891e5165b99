"""One thin wrapper around SciPy's L-BFGS-B: history, progress, warnings."""

import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning

from sksoftmax._threads import limit_blas


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
        Whether a stopping criterion (not an iteration or evaluation limit, not a
        failed line search far from the optimum) ended the run.
    message : str
        SciPy's status message.
    """

    x: np.ndarray
    fun: float
    n_iter: int
    n_evaluations: int
    loss_curve: list = field(default_factory=list)
    converged: bool = True
    message: str = ""


class _Progress:
    """Per-iteration bookkeeping: the loss curve, verbose lines, callbacks."""

    def __init__(self, fun, verbose, callback):
        self.fun = fun
        self.verbose = verbose
        self.callback = callback
        self.loss_curve = []
        self.n_evaluations = 0
        self.last = (None, None, None)  # (x, f, g) of the latest evaluation
        self.start = time.perf_counter()

    def evaluate(self, x):
        self.n_evaluations += 1
        f, g = self.fun(x)
        self.last = (x.copy(), f, g)
        return f, g

    def grad_at(self, x):
        x_last, _, g_last = self.last
        if x_last is not None and np.array_equal(x, x_last):
            return g_last
        return self.fun(x)[1]  # pragma: no cover - L-BFGS-B ends on an evaluation

    def __call__(self, intermediate_result):
        x, f = intermediate_result.x, float(intermediate_result.fun)
        self.loss_curve.append(f)
        if self.verbose or self.callback is not None:
            grad_norm = float(np.max(np.abs(self.grad_at(x))))
        if self.verbose:
            print(
                f"iter {len(self.loss_curve):4d}  objective {f:.10e}  "
                f"max|grad| {grad_norm:.3e}  "
                f"time {time.perf_counter() - self.start:.3f}s",
                flush=True,
            )
        if self.callback is not None and self.callback(
            x, f, grad_norm, len(self.loss_curve)
        ):
            raise StopIteration


def minimize_lbfgs(fun, x0, *, max_iter, tol, history_size=10, max_fun=15000,
                   ftol=None, verbose=0, callback=None, bounds=None):
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
        Stop when the largest gradient component is at most ``tol``.
    history_size : int, default=10
        Number of correction pairs L-BFGS keeps (SciPy's ``maxcor``).
    max_fun : int, default=15000
        Maximum number of evaluations.
    ftol : float, default=None
        Stop when the relative decrease of the objective in one iteration is
        at most ``ftol``; None uses ``tol * 2e-6``.
    verbose : int, default=0
        Print one line per iteration when positive.
    callback : callable, default=None
        ``callback(x, fun, grad_max, n_iter)`` after each iteration; returning
        True stops the solver.
    bounds : scipy.optimize.Bounds, default=None
        Box constraints on ``x``; None for none. With bounds, ``tol`` applies
        to SciPy's projected gradient (zero for a component at a bound whose
        gradient points outward).

    Returns
    -------
    result : SolverResult
    """
    progress = _Progress(fun, verbose, callback)
    x0 = np.asarray(x0, dtype=np.float64)
    if max_iter == 0:
        f, _ = progress.evaluate(x0)
        return SolverResult(x0.copy(), float(f), 0, 1, [], False,
                            "max_iter=0: no iteration was run")
    if ftol is None:
        ftol = tol * 2e-6
    with limit_blas():
        res = scipy.optimize.minimize(
            progress.evaluate, x0, method="L-BFGS-B", jac=True,
            callback=progress, bounds=bounds,
            options={
                "maxiter": max_iter,
                "maxfun": max_fun,
                "maxcor": history_size,
                "gtol": tol,
                "ftol": ftol,
                "maxls": 50,
            },
        )
    loss_curve = progress.loss_curve
    converged = res.status == 0 or _stopped_by_callback(res)
    if res.status == 2 and np.max(np.abs(
        _projected_gradient(res.x, res.jac, bounds))) <= 10 * tol:
        # The line search ran out of progress at a point where the gradient is
        # already about as small as float32 / rounding permits: converged.
        converged = True
    if loss_curve and loss_curve[-1] != res.fun:
        loss_curve[-1] = float(res.fun)  # pragma: no cover - defensive
    return SolverResult(
        np.asarray(res.x), float(res.fun), int(res.nit), progress.n_evaluations,
        loss_curve, converged, str(res.message),
    )


def _projected_gradient(x, grad, bounds):
    """The gradient with the components that point out of the box zeroed."""
    if bounds is None:
        return grad
    blocked = ((x <= bounds.lb) & (grad > 0)) | ((x >= bounds.ub) & (grad < 0))
    return np.where(blocked, 0.0, grad)


def _stopped_by_callback(res):
    return "callback" in str(res.message).lower()


def warn_not_converged(result, max_iter):
    """Raise a ``ConvergenceWarning`` that says what to do.

    Parameters
    ----------
    result : SolverResult
        An unconverged result.
    max_iter : int
        The iteration limit that was in force.
    """
    if result.n_iter >= max_iter:
        advice = (
            f"L-BFGS stopped after max_iter={max_iter} iterations before reaching "
            "tol. Increase max_iter, or loosen tol if this precision is enough."
        )
    else:
        advice = (
            f"L-BFGS stopped early ({result.message}). Increase max_fun, or "
            "check the data for duplicated or extremely collinear columns, or "
            "increase the regularization (smaller C)."
        )
    warnings.warn(advice, ConvergenceWarning, stacklevel=3)
