"""Progress: verbose lines and scikit-learn's callback API (``sklearn.callback``)."""

import re
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sksoftmax import SoftmaxClassifier

LINE = re.compile(
    r"^iter +(\d+) +objective (\S+) +max\|grad\| (\S+) +gap (\S+) +time (\S+)s$"
)


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


def test_verbose_prints_one_line_per_iteration(iris, capsys):
    X, y = iris
    clf = SoftmaxClassifier(verbose=1, max_iter=500).fit(X, y)
    lines = capsys.readouterr().out.splitlines()

    assert len(lines) == clf.n_iter_ == len(clf.loss_curve_) > 5
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed), lines
    iters = [int(m[1]) for m in parsed]
    objective = np.array([float(m[2]) for m in parsed])
    grad = np.array([float(m[3]) for m in parsed])
    elapsed = np.array([float(m[5]) for m in parsed])
    assert iters == list(range(1, clf.n_iter_ + 1))
    # Printed with 11 significant digits: the loss curve, line by line.
    assert_allclose(objective, clf.loss_curve_, rtol=1e-9)
    assert objective[-1] == pytest.approx(clf.loss_)
    assert np.all(np.isfinite(grad)) and np.all(grad >= 0)
    assert grad[-1] < 1e-2 * grad[0]  # the solver drove the gradient down
    assert np.all(elapsed >= 0) and np.all(np.diff(elapsed) >= 0)


def test_verbose_zero_prints_nothing(iris, capsys):
    X, y = iris
    SoftmaxClassifier(max_iter=500).fit(X, y)
    assert capsys.readouterr().out == ""


def test_without_sklearn_callback_module_fit_still_works():
    # scikit-learn < 1.9 has no sklearn.callback. Simulate that for the import
    # of sksoftmax in a fresh interpreter (an import of a module set to None
    # raises ImportError); scikit-learn itself gets its module back afterwards.
    code = (
        "import sys\n"
        "try:\n"
        "    import sklearn.callback as real\n"
        "except ImportError:\n"
        "    real = None\n"
        # scikit-learn's own modules that need its callbacks load first: only
        # sksoftmax must do without them.
        "import sklearn.metrics, sklearn.model_selection, sklearn.preprocessing\n"
        "sys.modules['sklearn.callback'] = None\n"
        "from sksoftmax import SoftmaxClassifier\n"
        "del sys.modules['sklearn.callback']\n"
        "if real is not None:\n"
        "    sys.modules['sklearn.callback'] = real\n"
        "from sklearn.datasets import load_iris\n"
        "X, y = load_iris(return_X_y=True)\n"
        "clf = SoftmaxClassifier(max_iter=500).fit(X, y)\n"
        "assert clf.score(X, y) > 0.9 and not hasattr(clf, 'set_callbacks')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- scikit-learn's callback API (1.9+) ---------------------------------------


class RecordingCallback:
    """Records every hook; optionally asks to stop after some iterations."""

    def __init__(self, stop_after=None):
        self.stop_after = stop_after
        self.events = []

    def setup(self, estimator, context):
        self.events.append(("setup", None, None, None))

    def teardown(self, estimator, context):
        self.events.append(("teardown", None, None, None))

    def on_fit_task_begin(self, estimator, context, *, X=None, y=None):
        self.events.append(("begin", context.task_name, context.task_id, None))

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        self.events.append(("end", context.task_name, context.task_id,
                            fitted_estimator))
        return (
            self.stop_after is not None
            and context.task_name == "lbfgs-iter"
            and context.task_id + 1 >= self.stop_after
        )

    def iteration_models(self):
        return [e[3] for e in self.events
                if e[:2] == ("end", "lbfgs-iter") and e[3] is not None]


def _callback_api():
    return pytest.importorskip(
        "sklearn.callback", reason="scikit-learn < 1.9 has no callback API"
    )


def _foreground_threads():
    return {t for t in threading.enumerate() if not t.daemon}


def _assert_no_callback_leftovers(clf):
    private = {"_callback_fit_ctx", "_skl_callbacks_to_teardown",
               "_callback_fit_data"}
    assert not private & set(vars(clf))


def test_callback_hooks_once_per_iteration(iris):
    _callback_api()
    X, y = iris
    rec = RecordingCallback()
    clf = SoftmaxClassifier(max_iter=500).set_callbacks(rec).fit(X, y)
    n = clf.n_iter_
    kinds = [e[:3] for e in rec.events]

    assert kinds[:2] == [("setup", None, None), ("begin", "fit", 0)]
    assert kinds[-2:] == [("end", "fit", 0), ("teardown", None, None)]
    iteration_events = kinds[2:-2]
    # Iteration k begins, then ends; one more is begun after the last
    # iteration and closed empty (as in LogisticRegression).
    expected = []
    for k in range(n + 1):
        expected += [("begin", "lbfgs-iter", k), ("end", "lbfgs-iter", k)]
    assert iteration_events == expected

    # The model handed to the end hook of iteration k is the iterate whose
    # objective is loss_curve_[k]; the last one is the fitted model.
    models = rec.iteration_models()
    assert len(models) == n
    assert_allclose(models[-1].coef_, clf.coef_, rtol=1e-6, atol=1e-10)
    final = rec.events[-2][3]
    assert final.predict(X).tolist() == clf.predict(X).tolist()
    _assert_no_callback_leftovers(clf)


def test_verbose_says_where_the_hessian_is_taken(capsys):
    # A hard fit's iteration lines restart after the Hessian: a line between
    # them says where it was taken and what its Newton decrement read.
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    clf = SoftmaxClassifier(C=100.0, verbose=1).fit(X[::4], y[::4])
    lines = capsys.readouterr().out.splitlines()
    said = [i for i, line in enumerate(lines) if line.startswith("Hessian after")]
    assert said and lines[said[0]].startswith("Hessian after 100 iterations")
    assert lines[said[0] - 1].startswith("iter  100")
    assert lines[said[0] + 1].startswith("iter    1")
    assert clf.n_iter_ > 100


def test_a_watched_fit_never_forms_the_hessian(monkeypatch):
    # Raw digits at C=100 goes on with the Hessian after 100 iterations,
    # unless a callback watches: its hooks see L-BFGS-B's own iterations, one
    # each, and the fit runs as before the Hessian existed.
    _callback_api()
    from sklearn.datasets import load_digits

    from sksoftmax._hessian import DenseHessianRoot

    def refuse(*args):
        raise AssertionError("the Hessian was formed")

    monkeypatch.setattr(DenseHessianRoot, "at", classmethod(refuse))
    X, y = load_digits(return_X_y=True)
    rec = RecordingCallback()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = SoftmaxClassifier(C=100.0, max_iter=150).set_callbacks(rec).fit(
            X[::4], y[::4])
    assert clf.n_iter_ == 150
    # One model per iteration (and an empty end after the last).
    assert len(rec.iteration_models()) == clf.n_iter_


def test_callback_intermediate_models_follow_the_loss_curve(iris):
    _callback_api()
    X, y = iris
    rec = RecordingCallback()
    # C = inf: the objective is exactly the mean log-loss of each iterate.
    clf = SoftmaxClassifier(C=np.inf, max_iter=500).set_callbacks(rec).fit(X, y)
    losses = [log_loss(y, m.predict_proba(X)) for m in rec.iteration_models()]
    assert_allclose(losses, clf.loss_curve_, rtol=1e-10)


def test_callback_intermediate_models_with_l1(iris):
    _callback_api()
    X, y = iris
    rec = RecordingCallback()
    C = 0.5
    clf = SoftmaxClassifier(C=C, l1_ratio=1.0).set_callbacks(rec).fit(X, y)
    values = [log_loss(y, m.predict_proba(X)) + np.abs(m.coef_).sum() / (C * len(y))
              for m in rec.iteration_models()]
    # The solver's value counts both halves of a split coefficient, so it is
    # at least the objective of the model; they agree at the end.
    assert np.all(np.array(values) <= np.array(clf.loss_curve_) * (1 + 1e-10))
    assert_allclose(values[-1], clf.loss_, rtol=1e-10)


def test_callback_can_stop_the_fit(iris):
    _callback_api()
    X, y = iris
    rec = RecordingCallback(stop_after=3)
    with warnings.catch_warnings():
        # Stopping on request is not a convergence failure.
        warnings.simplefilter("error")
        clf = SoftmaxClassifier(max_iter=500).set_callbacks(rec).fit(X, y)
    assert clf.n_iter_ == len(clf.loss_curve_) == 3
    kinds = [e[:3] for e in rec.events]
    assert ("begin", "lbfgs-iter", 3) not in kinds  # nothing begun after stop
    assert kinds[-2:] == [("end", "fit", 0), ("teardown", None, None)]
    full = SoftmaxClassifier(max_iter=500).fit(X, y)
    assert full.n_iter_ > 3 and full.loss_ < clf.loss_
    assert_allclose(clf.loss_curve_, full.loss_curve_[:3], rtol=1e-12)


def test_callback_teardown_runs_when_fit_fails(iris):
    _callback_api()
    X, y = iris
    rec = RecordingCallback()
    clf = SoftmaxClassifier().set_callbacks(rec)
    with pytest.raises(ValueError):
        clf.fit(X, y, sample_weight=-np.ones(len(y)))
    assert rec.events[0][0] == "setup" and rec.events[-1][0] == "teardown"
    _assert_no_callback_leftovers(clf)
    assert not hasattr(clf, "coef_")


def test_scoring_monitor_logs_each_iteration(iris):
    callback = _callback_api()
    X, y = iris
    monitor = callback.ScoringMonitor(scoring="neg_log_loss")
    clf = SoftmaxClassifier(C=np.inf, max_iter=500).set_callbacks(monitor)
    clf.fit(X, y)
    rows = monitor.get_logs().data
    per_iteration = [r["neg_log_loss"] for r in rows if r["task_name"] == "lbfgs-iter"]
    assert_allclose(np.negative(per_iteration), clf.loss_curve_, rtol=1e-10)
    (final,) = [r["neg_log_loss"] for r in rows if r["task_name"] == "fit"]
    assert final == pytest.approx(-log_loss(y, clf.predict_proba(X)), rel=1e-12)


def test_progress_bar_in_a_pipeline(iris):
    callback = _callback_api()
    pytest.importorskip("rich", reason="ProgressBar needs rich")
    X, y = iris
    # The live display runs in a non-daemon thread that teardown must end.
    threads = _foreground_threads()
    pipe = make_pipeline(StandardScaler(), SoftmaxClassifier(max_iter=500))
    pipe.set_callbacks(callback.ProgressBar())
    pipe.fit(X, y)
    assert pipe.score(X, y) > 0.9
    assert _foreground_threads() == threads
    _assert_no_callback_leftovers(pipe[-1])
    # Also directly on the estimator, with a stop: the bar is torn down too.
    clf = SoftmaxClassifier(max_iter=500)
    clf.set_callbacks(callback.ProgressBar(), RecordingCallback(stop_after=2))
    assert clf.fit(X, y).n_iter_ == 2
    assert _foreground_threads() == threads
