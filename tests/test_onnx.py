"""ONNX export: onnxruntime reproduces predict / predict_proba."""

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_classification
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sksoftmax import SoftmaxClassifier, SoftmaxClassifierCV

pytest.importorskip("skl2onnx")
rt = pytest.importorskip("onnxruntime")

from skl2onnx import to_onnx  # noqa: E402
from skl2onnx.common.data_types import DoubleTensorType  # noqa: E402

import sksoftmax.onnx  # noqa: E402,F401  (registers the converter)


def _data(n_classes, labels, seed=0):
    X, y = make_classification(
        n_samples=200, n_features=6, n_informative=4, n_redundant=0,
        n_classes=n_classes, n_clusters_per_class=1, random_state=seed,
    )
    # Unscaled columns, as the estimator is meant to take them.
    X = X * np.array([1e-2, 1.0, 10.0, 1.0, 100.0, 0.1]) + 5.0
    if labels == "str":
        y = np.array([f"class_{k}" for k in range(n_classes)])[y]
    elif labels == "int":
        y = np.array([-3, 7, 11, 42])[y]  # not 0..K-1: labels must be looked up
    return X, y


def _run(onx, X):
    session = rt.InferenceSession(
        onx.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return session.run(None, {session.get_inputs()[0].name: X})


@pytest.mark.parametrize("n_classes", [2, 3, 4])
@pytest.mark.parametrize("labels", ["int", "str"])
@pytest.mark.parametrize("pipeline", [False, True])
def test_onnxruntime_matches_predict_and_predict_proba(n_classes, labels, pipeline):
    X, y = _data(n_classes, labels)
    clf = SoftmaxClassifier(C=10.0, max_iter=300)
    model = make_pipeline(StandardScaler(), clf) if pipeline else clf
    model.fit(X, y)
    X32 = X.astype(np.float32)

    onx = to_onnx(model, X32[:1], options={SoftmaxClassifier: {"zipmap": False}})
    label, proba = _run(onx, X32)

    assert proba.shape == (X.shape[0], n_classes)
    assert_allclose(proba, model.predict_proba(X32), rtol=0, atol=1e-4)
    assert_array_equal(label, model.predict(X32))
    # Sanity: the model is not trivial, so the labels really are compared.
    assert len(np.unique(model.predict(X32))) == n_classes


@pytest.mark.parametrize("labels", ["int", "str"])
def test_zipmap_gives_one_dict_per_sample_keyed_by_class(labels):
    X, y = _data(3, labels, seed=1)
    clf = SoftmaxClassifier(max_iter=500).fit(X, y)
    X32 = X.astype(np.float32)
    label, proba = _run(to_onnx(clf, X32[:1]), X32)  # zipmap is the default
    assert isinstance(proba, list) and len(proba) == X.shape[0]
    assert sorted(proba[0]) == sorted(clf.classes_.tolist())
    expected = clf.predict_proba(X32)
    table = np.array([[row[c] for c in clf.classes_] for row in proba])
    assert_allclose(table, expected, rtol=0, atol=1e-4)
    assert_array_equal(label, clf.predict(X32))


def test_double_input_is_exact():
    X, y = _data(3, "int", seed=2)
    clf = SoftmaxClassifier().fit(X, y)
    onx = to_onnx(
        clf, initial_types=[("X", DoubleTensorType([None, X.shape[1]]))],
        options={id(clf): {"zipmap": False}},
    )
    label, proba = _run(onx, X)
    assert proba.dtype == np.float64
    assert_allclose(proba, clf.predict_proba(X), rtol=1e-10, atol=1e-12)
    assert_array_equal(label, clf.predict(X))


def test_double_input_with_zipmap_raises_naming_the_fix():
    # ONNX's ZipMap takes float32 only: onnxruntime would reject the graph.
    X, y = _data(3, "int", seed=2)
    clf = SoftmaxClassifier().fit(X, y)
    double = [("X", DoubleTensorType([None, X.shape[1]]))]
    with pytest.raises(ValueError, match=r"ZipMap.*'zipmap': False"):
        to_onnx(clf, initial_types=double)
    # The two options that keep float64 probabilities both run.
    for zipmap in [False, "columns"]:
        outputs = _run(to_onnx(clf, initial_types=double,
                               options={id(clf): {"zipmap": zipmap}}), X)
        assert_array_equal(outputs[0], clf.predict(X))
        # "columns": one output per class after the labels.
        proba = outputs[1] if zipmap is False else np.column_stack(outputs[1:])
        assert_allclose(proba, clf.predict_proba(X), rtol=1e-10, atol=1e-12)


def test_float64_recipe_of_the_docs_runs():
    text = (Path(__file__).resolve().parent.parent / "docs" / "export.rst"
            ).read_text()
    blocks = re.findall(r"\.\. code-block:: python\n\n((?: {4}.*\n|\n)+)", text)
    recipe = [block for block in blocks if "DoubleTensorType" in block]
    assert len(recipe) == 1
    exec(textwrap.dedent(recipe[0]), {})  # its asserts compare with predict_proba


@pytest.mark.parametrize("pipeline", [False, True])
def test_cv_estimator_matches_predict_and_predict_proba(pipeline):
    X, y = _data(3, "str", seed=5)
    cv = SoftmaxClassifierCV(Cs=4, cv=3)
    model = make_pipeline(StandardScaler(), cv) if pipeline else cv
    model.fit(X, y)
    options = {SoftmaxClassifierCV: {"zipmap": False}}
    X32 = X.astype(np.float32)
    label, proba = _run(to_onnx(model, X32[:1], options=options), X32)
    assert_allclose(proba, model.predict_proba(X32), rtol=0, atol=1e-4)
    assert_array_equal(label, model.predict(X32))
    double = [("X", DoubleTensorType([None, X.shape[1]]))]
    label, proba = _run(to_onnx(model, initial_types=double, options=options), X)
    assert_allclose(proba, model.predict_proba(X), rtol=1e-10, atol=1e-12)
    assert_array_equal(label, model.predict(X))
    assert len(np.unique(label)) == 3


def test_l1_bounded_and_sparsified_model():
    X, y = _data(3, "int", seed=4)
    clf = SoftmaxClassifier(C=0.05, l1_ratio=1.0, coef_bounds=(-0.5, 1.0)).fit(X, y)
    assert np.any(clf.coef_ == 0)
    expected = clf.predict_proba(X)
    clf.sparsify()
    onx = to_onnx(
        clf, initial_types=[("X", DoubleTensorType([None, X.shape[1]]))],
        options={id(clf): {"zipmap": False}},
    )
    label, proba = _run(onx, X)
    assert_allclose(proba, expected, rtol=1e-10, atol=1e-12)
    assert_array_equal(label, clf.predict(X))


def test_float32_fit_and_nocl_option():
    X, y = _data(3, "str", seed=3)
    X32 = X.astype(np.float32)
    clf = SoftmaxClassifier().fit(X32, y)
    assert clf.coef_.dtype == np.float32
    onx = to_onnx(clf, X32[:1], options={id(clf): {"zipmap": False, "nocl": True}})
    label, proba = _run(onx, X32)
    # nocl: labels are class indices, as skl2onnx does for LogisticRegression.
    assert_array_equal(label, np.argmax(clf.predict_proba(X32), axis=1))
    assert_allclose(proba, clf.predict_proba(X32), rtol=0, atol=1e-4)


def test_import_isolation_and_missing_extra_message():
    # One subprocess (importing scikit-learn is the slow part) checks both:
    # `import sksoftmax` loads neither skl2onnx nor onnx, and without skl2onnx
    # `import sksoftmax.onnx` fails with a message naming the extra.
    code = (
        "import sys, sksoftmax\n"
        "assert 'skl2onnx' not in sys.modules and 'onnx' not in sys.modules\n"
        "sys.modules['skl2onnx'] = None\n"
        "try:\n"
        "    import sksoftmax.onnx\n"
        "except ImportError as exc:\n"
        "    assert \"pip install '.[onnx]'\" in str(exc), exc\n"
        "else:\n"
        "    raise SystemExit('no ImportError')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
