"""scikit-learn's callback API (``sklearn.callback``, 1.9+), where it exists.

A fit is one root task whose subtasks are the L-BFGS iterations, as in
:class:`sklearn.linear_model.LogisticRegression`: ``on_fit_task_begin`` /
``on_fit_task_end`` run around the whole fit and around every iteration, and
an iteration's end hook may return True to stop the solver. Callbacks that ask
for ``fitted_estimator`` (e.g. ``ScoringMonitor``) get a copy of the estimator
with the coefficients of that iteration.

With scikit-learn < 1.9 there is no ``sklearn.callback``: the mixin below is
empty, nothing is called, and fitting costs nothing extra.
"""

from contextlib import contextmanager

try:
    from sklearn.callback import CallbackSupportMixin
except ImportError:  # pragma: no cover - scikit-learn < 1.9

    class CallbackSupportMixin:
        """Stand-in for scikit-learn versions without ``sklearn.callback``."""


__all__ = ["CallbackSupportMixin", "fit_callbacks", "lbfgs_callback"]

# Private attribute that carries (X, y, metadata) from ``fit`` to the solver;
# removed when the fit ends, so it never reaches a pickle or a skops file.
_FIT_DATA = "_callback_fit_data"


@contextmanager
def fit_callbacks(estimator, X, y, sample_weight, max_iter):
    """Run the root callback task around the body of ``fit``.

    Enter this before taking any snapshot of ``estimator.__dict__`` meant to be
    restored on error: scikit-learn's ``_fit_context`` tears the callbacks down
    after ``fit`` only if the callback context is still on the estimator.

    Parameters
    ----------
    estimator : SoftmaxClassifier
        The estimator being fitted.
    X : array-like
        Training data, as passed to ``fit`` (given to callbacks, which may
        score intermediate models on it).
    y : array-like
        Targets, as passed to ``fit``.
    sample_weight : array-like or None
        Passed to callbacks as ``metadata={"sample_weight": ...}``.
    max_iter : int
        Iteration limit: the root task has at most ``max(max_iter, 1) + 1``
        subtasks (the last one opened after the final iteration and closed
        empty, as in ``LogisticRegression``).

    Yields
    ------
    None
    """
    if not hasattr(estimator, "_init_callback_context"):  # scikit-learn < 1.9
        yield
        return
    ctx = estimator._init_callback_context(max_subtasks=max(max_iter, 1) + 1)
    metadata = None if sample_weight is None else {"sample_weight": sample_weight}
    ctx.call_on_fit_task_begin(estimator=estimator, X=X, y=y, metadata=metadata)
    setattr(estimator, _FIT_DATA, (X, y, metadata))
    try:
        yield
        ctx.call_on_fit_task_end(
            estimator=estimator, X=X, y=y, metadata=metadata,
            reconstruction_attributes={},
        )
    finally:
        estimator.__dict__.pop(_FIT_DATA, None)


def lbfgs_callback(estimator, objective, theta0, classes):
    """The per-iteration bridge for ``minimize_lbfgs``, or None without callbacks.

    Parameters
    ----------
    estimator : SoftmaxClassifier
        The estimator being fitted (inside :func:`fit_callbacks`).
    objective : SoftmaxObjective
        Provides ``to_original(theta) -> (coef, intercept)``.
    theta0 : ndarray
        Starting point of the solver (the state before the first iteration).
    classes : ndarray or None
        The labels of this fit. None means unknown: callbacks then get no
        ``fitted_estimator`` rather than one with wrong labels.

    Returns
    -------
    bridge : callable or None
        ``bridge(x, fun, grad_max, n_iter) -> bool`` (True stops L-BFGS), with a
        ``close()`` method to call after the solver returns.
    """
    ctx = getattr(estimator, "_callback_fit_ctx", None)
    data = getattr(estimator, _FIT_DATA, None)
    if ctx is None or data is None or not getattr(estimator, "_skl_callbacks", None):
        return None
    return _LbfgsBridge(estimator, ctx, data, objective, theta0, classes)


class _LbfgsBridge:
    """One subtask per L-BFGS iteration, like ``LogisticRegression``'s bridge.

    Each call ends the iteration that just finished and, unless a callback
    asked to stop, begins the next one. ``close`` ends the last begun
    iteration, which the solver never ran, as an empty task.
    """

    def __init__(self, estimator, ctx, data, objective, theta0, classes):
        self.estimator = estimator
        self.ctx = ctx
        self.X, self.y, self.metadata = data
        self.objective = objective
        self.classes = classes
        self.task = self._begin(theta0)

    def _attributes(self, theta):
        if self.classes is None:
            return None
        theta = theta.copy()

        def build():  # only evaluated if a callback asks for fitted_estimator
            coef, intercept = self.objective.to_original(theta)
            return {"coef_": coef, "intercept_": intercept, "classes_": self.classes}

        return build

    def _begin(self, theta):
        task = self.ctx.subcontext(task_name="lbfgs-iter")
        task.call_on_fit_task_begin(
            estimator=self.estimator, X=self.X, y=self.y, metadata=self.metadata,
            reconstruction_attributes=self._attributes(theta),
        )
        return task

    def __call__(self, x, fun, grad_max, n_iter):
        stop = self.task.call_on_fit_task_end(
            estimator=self.estimator, X=self.X, y=self.y, metadata=self.metadata,
            reconstruction_attributes=self._attributes(x),
        )
        self.task = None if stop else self._begin(x)
        return stop

    def close(self):
        """End the iteration begun after the last one the solver ran."""
        if self.task is not None:
            self.task.call_on_fit_task_end(estimator=self.estimator)
            self.task = None
