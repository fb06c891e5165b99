"""Every bad input gets a ValueError or TypeError that names the problem.

Each case is one row of the table in ``docs/bad_input.rst`` (a test checks
that the page lists them all). For every case we check:

- the exception is exactly the expected ``ValueError`` / ``TypeError`` (or a
  scikit-learn subclass such as ``InvalidParameterError`` / ``NotFittedError``),
  and its message matches a pattern that names the problem;
- no ``RuntimeWarning`` escapes (they are errors here);
- an already fitted estimator is left exactly as it was.
"""

import copy
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal
from sklearn.exceptions import DataConversionWarning, NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from sksoftmax import SoftmaxClassifier

DOCS_PAGE = Path(__file__).resolve().parents[1] / "docs" / "bad_input.rst"

N_SAMPLES, N_FEATURES, N_CLASSES = 12, 3, 3


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N_SAMPLES, N_FEATURES))
    y = np.arange(N_SAMPLES) % N_CLASSES
    return X, y


def _with(array, index, value):
    array = np.array(array, dtype=float)
    array[index] = value
    return array


def _soft(y):
    return np.eye(N_CLASSES)[y]


@dataclass
class Case:
    """One bad input: ``make(X, y) -> (args, kwargs)`` for ``method``."""

    id: str
    doc: str  # the row's text in docs/bad_input.rst
    make: object
    exc: type
    match: str
    params: dict = field(default_factory=dict)
    method: str = "fit"


def fit_args(X=None, y=None, **kwargs):
    return lambda X0, y0: (
        (X0 if X is None else X(X0), y0 if y is None else y(y0)), kwargs
    )


def fit_weights(sw):
    return lambda X0, y0: ((X0, y0), {"sample_weight": sw(X0, y0)})


def predict_args(X):
    return lambda X0, y0: ((X(X0),), {})


def _duplicates_summing_to_inf(container, dtype=np.float64):
    """X with two finite entries stored for (4, 1) whose sum overflows."""
    X, _ = _data()
    rows, cols = np.indices(X.shape).reshape(2, -1)
    big = np.finfo(dtype).max
    data = np.r_[X.ravel(), big, big].astype(dtype)
    rows, cols = np.r_[rows, 4, 4], np.r_[cols, 1, 1]
    if container is sp.csc_matrix:
        rows, cols = cols, rows
    order = np.argsort(rows, kind="stable")
    indptr = np.searchsorted(rows[order], np.arange(rows.max() + 2))
    matrix = container((data[order], cols[order], indptr))
    assert not matrix.has_canonical_format and np.isfinite(matrix.data).all()
    return matrix


def _object_with_text(X):
    X = X.astype(object)
    X[0, 0] = "abc"
    return X


def _dataframe(X, columns):
    pd = pytest.importorskip("pandas")
    return pd.DataFrame(X, columns=columns)


NAN, INF = np.nan, np.inf
ONES = np.ones(N_SAMPLES)

CASES = [
    # ---- X at fit
    Case("X-nan", "NaN in X", fit_args(X=lambda X: _with(X, (0, 0), NAN)),
         ValueError, "Input X contains NaN"),
    Case("X-inf", "+inf in X", fit_args(X=lambda X: _with(X, (1, 2), INF)),
         ValueError, "Input X contains infinity"),
    Case("X-neginf", "-inf in X", fit_args(X=lambda X: _with(X, (1, 2), -INF)),
         ValueError, "Input X contains infinity"),
    Case("X-sparse-nan", "NaN stored in a sparse X",
         fit_args(X=lambda X: sp.csr_matrix(_with(X, (0, 0), NAN))),
         ValueError, "Input X contains NaN"),
    Case("X-sparse-inf", "inf stored in a sparse X",
         fit_args(X=lambda X: sp.csc_matrix(_with(X, (0, 0), INF))),
         ValueError, "Input X contains infinity"),
    Case("X-sparse-duplicates-inf",
         "duplicate entries of a sparse X that sum to inf",
         fit_args(X=lambda X: _duplicates_summing_to_inf(sp.csr_matrix)),
         ValueError, "once its duplicate entries"),
    Case("X-sparse-duplicates-inf-csc",
         "the same in CSC, in float32",
         fit_args(X=lambda X: _duplicates_summing_to_inf(sp.csc_matrix,
                                                         np.float32)),
         ValueError, "too large for dtype\\('float32'\\) once its duplicate"),
    Case("X-strings", "X an array of strings (even numeric ones)",
         fit_args(X=lambda X: X.astype(str)), ValueError, "X is an array of strings"),
    Case("X-bytes", "X an array of bytes",
         fit_args(X=lambda X: X.astype(bytes)), ValueError, "X is an array of strings"),
    Case("X-list-strings", "X a nested list containing a string",
         fit_args(X=lambda X: [["a", *row[1:]] for row in X.tolist()]),
         ValueError, "X is an array of strings"),
    Case("X-object-text", "X an object array containing text",
         fit_args(X=lambda X: _object_with_text(X)),
         ValueError, "could not convert string to float"),
    Case("X-dataframe-text", "X a DataFrame with a text column",
         fit_args(X=lambda X: _dataframe(X, ["a", "b", "c"]).assign(c="text")),
         ValueError, r"X has non-numeric columns: 'c'; .*OneHotEncoder"),
    Case("X-complex", "complex X", fit_args(X=lambda X: X + 1j),
         ValueError, "Complex data not supported"),
    Case("X-sparse-complex", "complex sparse X",
         fit_args(X=lambda X: sp.csr_matrix(X + 1j)),
         ValueError, "Complex data not supported"),
    Case("X-dict", "X a dict", fit_args(X=lambda X: {"a": 1}),
         TypeError, "float\\(\\) argument must be"),
    Case("X-ragged", "X a ragged nested list",
         fit_args(X=lambda X: [[1.0, 2.0]] * (N_SAMPLES - 1) + [[1.0]]),
         ValueError, "inhomogeneous"),
    Case("X-empty", "X with 0 samples",
         lambda X, y: ((X[:0], y[:0]), {}), ValueError, "0 sample\\(s\\)"),
    Case("X-0-features", "X with 0 features", fit_args(X=lambda X: X[:, :0]),
         ValueError, "0 feature\\(s\\)"),
    Case("X-1d", "1-D X", fit_args(X=lambda X: X[:, 0]),
         ValueError, "Expected 2D array, got 1D array"),
    Case("X-3d", "3-D X", fit_args(X=lambda X: X[:, :, None]),
         ValueError, "Found array with dim 3"),
    Case("X-none", "X is None", fit_args(X=lambda X: None),
         ValueError, "X is None"),
    Case("predict-none", "X is None at predict", predict_args(lambda X: None),
         ValueError, "X is None", method="predict_proba"),
    Case("X-scalar", "scalar X", fit_args(X=lambda X: 1.0),
         ValueError, "Expected 2D array, got scalar array"),
    Case("X-one-sample", "a single sample",
         lambda X, y: ((X[:1], y[:1]), {}), ValueError, "only one class"),
    # ---- y
    Case("y-none", "y is None", fit_args(y=lambda y: None),
         ValueError, "requires y to be passed"),
    Case("y-scalar", "y a scalar or a dict", fit_args(y=lambda y: {"a": 1}),
         ValueError, "y must be an array-like"),
    Case("y-nan", "NaN in y", fit_args(y=lambda y: _with(y, 0, NAN)),
         ValueError, "Input y contains NaN"),
    Case("y-inf", "inf in y", fit_args(y=lambda y: _with(y, 0, INF)),
         ValueError, "Input y contains infinity"),
    Case("y-complex", "complex y", fit_args(y=lambda y: y + 1j),
         ValueError, "Complex data not supported"),
    Case("y-one-class", "only one class in y", fit_args(y=lambda y: 0 * y),
         ValueError, "only one class"),
    Case("y-continuous", "continuous y (regression targets)",
         fit_args(y=lambda y: y + 0.5 * np.arange(N_SAMPLES) / N_SAMPLES),
         ValueError, "Unknown label type: continuous"),
    Case("y-mixed-types", "labels of mixed types (str and int, str and None)",
         fit_args(y=lambda y: np.array([1, "a", None] * 4, dtype=object)),
         TypeError, "y mixes labels of the types"),
    Case("y-length", "y shorter or longer than X", fit_args(y=lambda y: y[:-1]),
         ValueError, "inconsistent numbers of samples"),
    Case("y-3d", "3-D y", fit_args(y=lambda y: y[:, None, None] * np.ones((1, 2, 2))),
         ValueError, "y must be 1-D labels or 2-D soft targets"),
    Case("y-multilabel", "a multilabel indicator matrix as y",
         fit_args(y=lambda y: _soft(y) + _soft((y + 1) % N_CLASSES)),
         ValueError, "sum to 1 in every row .* 12 rows do not: 0, 1, 2"),
    # ---- soft targets
    Case("soft-row-sum", "soft targets with a row not summing to 1",
         fit_args(y=lambda y: _with(_soft(y), (3, 1), 0.5)),
         ValueError, "sum to 1 in every row .* 1 rows do not: 3\\."),
    Case("soft-negative", "soft targets with a negative entry",
         fit_args(y=lambda y: _with(_with(_soft(y), (4, 0), -0.5), (4, 1), 1.5)),
         ValueError, "nonnegative.* 1 rows do not: 4\\."),
    Case("soft-nan", "NaN in soft targets",
         fit_args(y=lambda y: _with(_soft(y), (5, 2), NAN)),
         ValueError, "finite.* 1 rows do not: 5\\."),
    Case("soft-inf", "inf in soft targets",
         fit_args(y=lambda y: _with(_soft(y), (6, 2), INF)),
         ValueError, "finite.* 1 rows do not: 6\\."),
    Case("soft-text", "soft targets of strings",
         fit_args(y=lambda y: _soft(y).astype(str)),
         ValueError, "Soft targets must be numeric"),
    Case("soft-one-class", "soft targets with all mass on one class",
         fit_args(y=lambda y: _soft(0 * y)), ValueError, "only one class"),
    Case("soft-ignore-label", "soft targets together with ignore_label",
         fit_args(y=_soft), ValueError, "ignore_label applies to label vectors",
         params={"ignore_label": -1}),
    # ---- ignore_label
    Case("all-ignored", "every sample has the ignore_label",
         fit_args(y=lambda y: -1 + 0 * y), ValueError,
         "Every sample has the label ignore_label=-1", params={"ignore_label": -1}),
    Case("ignored-one-class", "ignore_label leaves only one class",
         fit_args(y=lambda y: np.where(y == 0, 0, -1)), ValueError,
         "only one class", params={"ignore_label": -1}),
    # ---- sample_weight
    Case("sw-nan", "NaN in sample_weight",
         fit_weights(lambda X, y: _with(ONES, 0, NAN)),
         ValueError, "Input sample_weight contains NaN"),
    Case("sw-inf", "inf in sample_weight",
         fit_weights(lambda X, y: _with(ONES, 0, INF)),
         ValueError, "Input sample_weight contains infinity"),
    Case("sw-negative", "a negative sample_weight",
         fit_weights(lambda X, y: _with(ONES, 0, -1)),
         ValueError, "sample_weight must be finite and nonnegative"),
    Case("sw-all-zero", "all sample weights zero", fit_weights(lambda X, y: 0 * ONES),
         ValueError, "non-zero|only one class"),
    Case("sw-one-class", "positive weight on one class only",
         fit_weights(lambda X, y: (y == 1).astype(float)),
         ValueError, "only one class .* positive total sample weight"),
    Case("sw-length", "sample_weight of the wrong length",
         fit_weights(lambda X, y: ONES[:-1]), ValueError, "sample_weight.shape"),
    Case("sw-2d", "2-D sample_weight",
         fit_weights(lambda X, y: np.ones((N_SAMPLES, 2))),
         ValueError, "Sample weights must be 1D array or scalar"),
    Case("sw-text", "sample_weight of strings",
         fit_weights(lambda X, y: np.array(["a"] * N_SAMPLES)),
         ValueError, "could not convert string to float"),
    Case("sw-complex", "complex sample_weight", fit_weights(lambda X, y: ONES + 1j),
         ValueError, "Complex data not supported"),
    Case("sw-tiny-C-tiny", "C=1e-200 with sample weights 1e-200",
         fit_weights(lambda X, y: np.full(N_SAMPLES, 1e-200)),
         ValueError, "C=1e-200 is too small for these sample weights",
         params={"C": 1e-200}),
    Case("sw-tiny", "weights so small that 1 / (C * sum(sample_weight)) overflows",
         fit_weights(lambda X, y: np.full(N_SAMPLES, 1e-320)),
         ValueError, "C=1.0 is too small for these sample weights"),
    # ---- class_weight
    Case("cw-unknown", "class_weight names a label that is not a class",
         fit_args(), ValueError, "class_weight has labels \\[5\\] that are not classes",
         params={"class_weight": {5: 1.0}}),
    Case("cw-negative", "a negative class_weight", fit_args(), ValueError,
         "class_weight values must be finite and nonnegative",
         params={"class_weight": {0: -1.0}}),
    Case("cw-nan", "a NaN or inf class_weight", fit_args(), ValueError,
         "class_weight values must be finite and nonnegative",
         params={"class_weight": {1: np.nan, 2: np.inf}}),
    Case("cw-text", "a class_weight that is not a number", fit_args(), TypeError,
         "class_weight values must be numbers", params={"class_weight": {0: "a"}}),
    Case("cw-all-zero", "class_weight zero for all classes but one", fit_args(),
         ValueError, "only one class", params={"class_weight": {0: 0, 1: 0}}),
    Case("cw-type", "class_weight neither a dict, 'balanced' nor None", fit_args(),
         InvalidParameterError, "'class_weight' parameter",
         params={"class_weight": [1, 2, 3]}),
    # ---- penalties and bounds
    Case("pf-length", "penalty_factor of the wrong length", fit_args(), ValueError,
         "penalty_factor has shape \\(2,\\); X has 3 features",
         params={"penalty_factor": [1.0, 2.0]}),
    Case("pf-features", "X with another number of features than penalty_factor",
         fit_args(X=lambda X: X[:, :2]), ValueError,
         "penalty_factor has shape \\(3,\\); X has 2 features",
         params={"penalty_factor": [1.0, 2.0, 0.0]}),
    Case("pf-negative", "a negative penalty_factor", fit_args(), ValueError,
         "penalty_factor must be finite and nonnegative; features \\[1\\]",
         params={"penalty_factor": [1.0, -1.0, 0.0]}),
    Case("pf-nan", "a NaN or inf penalty_factor", fit_args(), ValueError,
         "penalty_factor must be finite and nonnegative; features \\[0, 2\\]",
         params={"penalty_factor": [np.nan, 1.0, np.inf]}),
    Case("bounds-exclude-zero", "coef_bounds that exclude zero", fit_args(),
         ValueError, "coef_bounds must allow zero",
         params={"coef_bounds": (0.5, 2.0)}),
    Case("bounds-positive", "positive=True with a negative coef_bounds lower bound",
         fit_args(), ValueError, "positive=True sets every lower bound to 0",
         params={"positive": True, "coef_bounds": (-1.0, 1.0)}),
    Case("bounds-crossed", "coef_bounds with lower > upper", fit_args(), ValueError,
         "coef_bounds has lower > upper", params={"coef_bounds": (1.0, -1.0)}),
    Case("bounds-shape", "coef_bounds of the wrong shape", fit_args(), ValueError,
         "coef_bounds upper has shape \\(2,\\), which does not broadcast to "
         "coef_'s shape \\(3, 3\\)", params={"coef_bounds": (-1.0, [1.0, 2.0])}),
    Case("bounds-features", "X with another number of features than coef_bounds",
         fit_args(X=lambda X: X[:, :2]), ValueError,
         "coef_bounds lower has shape \\(3, 3\\), which does not broadcast",
         params={"coef_bounds": (-np.ones((3, 3)), 1.0)}),
    Case("bounds-pair", "coef_bounds not a pair (lower, upper)", fit_args(),
         ValueError, "coef_bounds must be a pair \\(lower, upper\\)",
         params={"coef_bounds": 1.0}),
    Case("bounds-nan", "a NaN in coef_bounds", fit_args(), ValueError,
         "coef_bounds lower contains NaN", params={"coef_bounds": (np.nan, 1.0)}),
    Case("bounds-text", "coef_bounds that are not numbers", fit_args(), ValueError,
         "coef_bounds upper must be a number or an array of numbers",
         params={"coef_bounds": (-1.0, "big")}),
    # ---- predict and friends
    Case("predict-not-fitted", "predict (or predict_proba, ...) before fit",
         predict_args(lambda X: X), NotFittedError, "is not fitted yet",
         method="unfitted"),
    Case("predict-features", "a different number of features at predict",
         predict_args(lambda X: X[:, :2]), ValueError,
         "X has 2 features, but SoftmaxClassifier is expecting 3", method="predict"),
    Case("predict-sparse-features", "sparse X with a different number of features",
         predict_args(lambda X: sp.csr_matrix(np.hstack([X, X]))), ValueError,
         "X has 6 features", method="predict_proba"),
    Case("predict-nan", "NaN in X at predict",
         predict_args(lambda X: _with(X, (0, 1), NAN)), ValueError,
         "Input X contains NaN", method="predict_proba"),
    Case("predict-inf", "inf in X at predict",
         predict_args(lambda X: _with(X, (0, 1), INF)), ValueError,
         "Input X contains infinity", method="decision_function"),
    Case("predict-strings", "strings in X at predict",
         predict_args(lambda X: X.astype(str)), ValueError,
         "X is an array of strings", method="predict"),
    Case("predict-complex", "complex X at predict", predict_args(lambda X: X + 1j),
         ValueError, "Complex data not supported", method="predict_log_proba"),
    Case("predict-1d", "one sample as a 1-D array at predict",
         predict_args(lambda X: X[0]), ValueError, "Expected 2D array, got 1D array",
         method="predict"),
    Case("predict-empty", "0 samples at predict", predict_args(lambda X: X[:0]),
         ValueError, "0 sample\\(s\\)", method="predict"),
    Case("predict-names", "other feature names at predict than at fit",
         predict_args(lambda X: _dataframe(X, ["a", "b", "z"])), ValueError,
         "(?s)feature names should match.*unseen at fit time:\\n- z",
         method="predict_names"),
    Case("predict-names-order", "feature names in another order at predict",
         predict_args(lambda X: _dataframe(X, ["b", "a", "c"])), ValueError,
         "same order as they were in fit", method="predict_names"),
]


# Each parameter: values of the wrong type and values out of range.
BAD_PARAMS = [
    ("C", 0), ("C", -1.0), ("C", np.nan), ("C", "1"), ("C", None),
    ("fit_intercept", "yes"), ("fit_intercept", 1), ("fit_intercept", None),
    ("max_iter", -1), ("max_iter", 1.5), ("max_iter", "100"), ("max_iter", None),
    ("tol", -1e-4), ("tol", np.nan), ("tol", np.inf), ("tol", "small"),
    ("warm_start", "no"), ("warm_start", None),
    ("verbose", -1), ("verbose", "loud"),
    ("label_smoothing", 1.0), ("label_smoothing", -0.1), ("label_smoothing", np.nan),
    ("label_smoothing", "0.1"),
    ("history_size", 0), ("history_size", 2.5), ("history_size", None),
    ("max_fun", 0), ("max_fun", 10.0), ("max_fun", None),
    ("class_weight", "bal"),
    ("l1_ratio", 1.5), ("l1_ratio", -0.1), ("l1_ratio", np.nan), ("l1_ratio", "0.5"),
    ("l1_ratio", None),
    ("penalty_factor", "ones"), ("penalty_factor", 1.0),
    ("positive", "yes"), ("positive", None),
]
PARAMETER_DOC = "a parameter of the wrong type or out of its range"


@pytest.fixture
def fitted():
    X, y = _data()
    return SoftmaxClassifier().fit(X, y)


def _snapshot(est):
    return copy.deepcopy(est.__dict__)


def assert_state_equal(before, est):
    """Every attribute of ``est`` equals its value in the ``before`` snapshot."""
    after = est.__dict__
    assert set(after) == set(before)
    for name, value in before.items():
        if isinstance(value, np.ndarray):
            assert_array_equal(after[name], value, err_msg=name)
            assert after[name].dtype == value.dtype, name
        elif isinstance(value, float) and np.isnan(value):
            assert np.isnan(after[name]), name
        elif isinstance(value, tuple | list):  # may hold arrays (coef_bounds)
            assert repr(after[name]) == repr(value), name
        else:
            assert after[name] == value, name


def _call(case, est, X, y):
    args, kwargs = case.make(X, y)
    method = {"unfitted": "predict", "predict_names": "predict"}.get(
        case.method, case.method
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(case.exc, match=case.match) as info:
            getattr(est, method)(*args, **kwargs)
    assert type(info.value) is case.exc
    assert isinstance(info.value, ValueError | TypeError)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_raises_clear_error_and_keeps_state(case):
    X, y = _data()
    est = SoftmaxClassifier()
    if case.method == "predict_names":
        est.fit(_dataframe(X, ["a", "b", "c"]), y)
    elif case.method != "unfitted":
        est.fit(X, y)
    est.set_params(**case.params)
    before = _snapshot(est)
    _call(case, est, X, y)
    assert_state_equal(before, est)


@pytest.mark.parametrize(
    "method", ["predict", "predict_proba", "predict_log_proba", "decision_function",
               "score"]
)
def test_every_prediction_method_refuses_before_fit(method):
    X, y = _data()
    args = (X, y) if method == "score" else (X,)
    with pytest.raises(NotFittedError, match="is not fitted yet"):
        getattr(SoftmaxClassifier(), method)(*args)


@pytest.mark.parametrize(
    ("name", "value"), BAD_PARAMS, ids=[f"{n}={v!r}" for n, v in BAD_PARAMS]
)
def test_bad_parameter_raises_and_keeps_state(fitted, name, value):
    X, y = _data()
    fitted.set_params(**{name: value})
    before = _snapshot(fitted)
    with pytest.raises(InvalidParameterError, match=f"The '{name}' parameter of "
                       "SoftmaxClassifier must be"):
        fitted.fit(X, y)
    assert_state_equal(before, fitted)


def test_fit_that_fails_late_keeps_previous_fit(fitted, monkeypatch):
    # The failure happens after validation succeeded and attributes could
    # have been touched (inside the solver): nothing may change.
    from sksoftmax._fitter import Fitter

    X, y = _data()
    before = _snapshot(fitted)

    class Boom(Exception):
        pass

    def explode(*args, **kwargs):
        raise Boom

    monkeypatch.setattr(Fitter, "fit", explode)
    with pytest.raises(Boom):
        fitted.fit(X[::-1] * 2, y[::-1])
    assert_state_equal(before, fitted)


def test_valid_oddities_are_accepted():
    # Inputs that look odd but are valid must NOT be refused.
    X, y = _data()
    SoftmaxClassifier().fit(X.astype(object), y)  # numbers in an object array
    SoftmaxClassifier().fit(X, y, sample_weight=2.0)  # a scalar weight
    SoftmaxClassifier().fit(X, _soft(y).astype(bool))  # one-hot booleans
    SoftmaxClassifier().fit(X, sp.csr_matrix(_soft(y)))  # sparse soft targets
    SoftmaxClassifier().fit(X, np.array(["b", "a", "c"])[y])  # string labels
    SoftmaxClassifier(ignore_label=None).fit(X, y.astype(float))  # float labels
    SoftmaxClassifier().fit(X, y, sample_weight=np.full(N_SAMPLES, 1e307))
    pd = pytest.importorskip("pandas")
    SoftmaxClassifier().fit(pd.DataFrame(X), pd.Series(y))  # pandas y
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        column = SoftmaxClassifier().fit(X, y[:, None])  # (n, 1) labels
    assert_array_equal(column.classes_, [0, 1, 2])
    # An ignore_label that no label equals (not even comparable with them
    # elementwise) ignores nothing.
    ref = SoftmaxClassifier().fit(X, y)
    for ignore_label in [(0, 1), "unlabeled", -1]:
        est = SoftmaxClassifier(ignore_label=ignore_label).fit(X, y)
        assert_array_equal(est.coef_, ref.coef_)


def test_docs_page_lists_every_case():
    if not DOCS_PAGE.exists():  # pragma: no cover - docs not shipped
        pytest.skip("docs/bad_input.rst is not in this checkout")
    text = " ".join(DOCS_PAGE.read_text().split())
    missing = [c.doc for c in CASES if c.doc not in text]
    missing += [PARAMETER_DOC] if PARAMETER_DOC not in text else []
    assert not missing, f"docs/bad_input.rst lacks rows for: {missing}"


def test_duplicates_summing_within_range_are_accepted():
    # The same magnitudes in different columns, or duplicates whose sum is
    # finite, fit as their canonical form does: nothing is refused wrongly.
    X, y = _data()
    big = np.finfo(np.float64).max / 4
    A = sp.csr_matrix(X)
    data = np.r_[A.data[:4], big, big, A.data[4:]]
    indices = np.r_[A.indices[:4], 1, 1, A.indices[4:]]
    indptr = A.indptr + np.r_[0, np.full(len(A.indptr) - 1, 2)]
    dup = sp.csr_matrix((data, indices, indptr), shape=X.shape)
    assert not dup.has_canonical_format
    canonical = dup.copy()
    canonical.sum_duplicates()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning on such a column
        a = SoftmaxClassifier().fit(dup, y)
        b = SoftmaxClassifier().fit(canonical, y)
    assert_array_equal(a.predict(X), b.predict(X))


def test_object_labels_of_numbers_fit_like_integer_labels():
    # 1 beside np.int64(2) sort together: scikit-learn's target checks refuse
    # any object array that is not text, which is not the cause to report.
    X, y = _data()
    mixed = np.array([int(v) if i % 2 else np.int64(v) for i, v in enumerate(y)],
                     dtype=object)
    assert {type(v) for v in mixed} == {int, np.int64}
    est = SoftmaxClassifier().fit(X, mixed)
    ref = SoftmaxClassifier().fit(X, y)
    assert_array_equal(est.classes_, ref.classes_)
    assert_array_equal(est.coef_, ref.coef_)
    with pytest.raises(TypeError, match="mixes labels of the types int, str"):
        SoftmaxClassifier().fit(X, np.array([1, "a"] * 6, dtype=object))


@pytest.mark.parametrize(("y", "shown"), [
    (np.zeros(N_SAMPLES), "only one class: 0.0."),
    (np.full(N_SAMPLES, 7), "only one class: 7."),
    (np.array(["a"] * N_SAMPLES), "only one class: 'a'.")])
def test_one_class_message_shows_the_plain_label(y, shown):
    X, _ = _data()
    with pytest.raises(ValueError) as exc:
        SoftmaxClassifier().fit(X, y)
    assert str(exc.value).endswith(shown) and "np." not in str(exc.value)


def test_tiny_C_fits_without_runtime_warnings():
    # C = 1e-308 with unit weights: a valid, enormous penalty (all-zero
    # coefficients); no overflow on the way (RuntimeWarnings are errors here).
    X, y = _data()
    for dtype in (np.float64, np.float32):
        est = SoftmaxClassifier(C=1e-308).fit(X.astype(dtype), y)
        assert_array_equal(est.coef_, 0)


@pytest.mark.parametrize("n_samples", [1_000, 30])
def test_many_classes_warn_as_logistic_regression_does(n_samples):
    # 25 classes: scikit-learn's "more than 50% unique" test on y (1.7 and
    # later), not on the distinct labels (which warned for every fit of over
    # 20 classes).
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.standard_normal((n_samples, 3))
    y = np.arange(n_samples) % 25
    many = {}
    for estimator in (SoftmaxClassifier(max_iter=5),
                      LogisticRegression(max_iter=5)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            estimator.fit(X, y)
        many[type(estimator).__name__] = [
            w for w in caught if "unique classes" in str(w.message)]
    assert len(many["SoftmaxClassifier"]) == len(many["LogisticRegression"])
    if n_samples == 1_000:
        assert not many["SoftmaxClassifier"]
    for w in many["SoftmaxClassifier"]:
        assert w.filename == __file__  # points at the user's line
