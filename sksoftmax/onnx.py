"""ONNX export of :class:`~sksoftmax.SoftmaxClassifier` through skl2onnx.

Importing this module registers a converter with skl2onnx, so that
:func:`skl2onnx.to_onnx` (or ``convert_sklearn``) converts a fitted
``SoftmaxClassifier`` or ``SoftmaxClassifierCV`` and any pipeline containing
one::

    import sksoftmax.onnx  # noqa: F401  (registers the converter)
    from skl2onnx import to_onnx

    onx = to_onnx(pipeline, X[:1].astype(np.float32))

The graph computes the logits ``X @ coef_.T + intercept_`` (MatMul, Add), the
probabilities with Softmax and the label with ArgMax followed by a Gather
into ``classes_``. The outputs are those of scikit-learn classifiers in
skl2onnx: ``label`` and ``probabilities``, with the ``zipmap``, ``nocl`` and
``output_class_labels`` options handled by skl2onnx's classifier parser
exactly as for :class:`~sklearn.linear_model.LogisticRegression`.

``import sksoftmax`` does not import skl2onnx; only this module does.
"""

import numpy as np

try:
    from onnx import TensorProto
    from skl2onnx import update_registered_converter
    from skl2onnx.common.data_types import (
        BooleanTensorType,
        DoubleTensorType,
        Int64TensorType,
        guess_proto_type,
    )
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
    )
    from skl2onnx.common.utils_classifier import get_label_classes
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError(
        "sksoftmax.onnx needs skl2onnx and onnx (and onnxruntime to run the "
        "exported models). Install the 'onnx' extra: pip install '.[onnx]' "
        "in a clone of sksoftmax (or pip install skl2onnx onnxruntime)."
    ) from exc

from sksoftmax._cv import SoftmaxClassifierCV
from sksoftmax._softmax import SoftmaxClassifier

__all__ = [
    "ALIAS",
    "calculate_softmax_classifier_output_shapes",
    "convert_softmax_classifier",
    "register_converter",
]

#: Name under which skl2onnx knows :class:`~sksoftmax.SoftmaxClassifier`.
ALIAS = "SksoftmaxSoftmaxClassifier"

# SoftmaxClassifierCV predicts with the coef_ and intercept_ of its refit:
# the same converter, under its own name.
_ALIAS_CV = "SksoftmaxSoftmaxClassifierCV"

#: Options the converter accepts, as for scikit-learn's linear classifiers.
_OPTIONS = {
    "zipmap": [True, False, "columns"],
    "nocl": [True, False],
    "output_class_labels": [False, True],
}


def calculate_softmax_classifier_output_shapes(operator):
    """Declare the outputs: labels of shape (N,), probabilities (N, n_classes).

    Parameters
    ----------
    operator : skl2onnx.common._topology.Operator
        The operator wrapping a fitted ``SoftmaxClassifier``.
    """
    # Same contract as LogisticRegression: int64 or string labels, and one
    # probability column per class (also for two classes).
    calculate_linear_classifier_output_shapes(operator)


def convert_softmax_classifier(scope, operator, container):
    """Write the ONNX nodes for one fitted ``SoftmaxClassifier``.

    Parameters
    ----------
    scope : skl2onnx.common._topology.Scope
        Scope that hands out unique names.
    operator : skl2onnx.common._topology.Operator
        The operator; ``operator.raw_operator`` is the fitted estimator,
        ``operator.inputs[0]`` the feature matrix and ``operator.outputs`` the
        label and probability variables.
    container : skl2onnx.common._container.ModelComponentContainer
        Receives the nodes and initializers.
    """
    model = operator.raw_operator
    input_type = operator.inputs[0].type
    _check_zipmap(container, model, input_type)
    input_name, proto_dtype, np_dtype = _float_input(scope, operator, container)
    # coef_ is (n_classes, n_features) for every number of classes (a true
    # two-vector softmax for two classes), so one MatMul covers all cases.
    # A sparsified coef_ is exported dense (ONNX's MatMul has no sparse form).
    coef = model.coef_.toarray() if hasattr(model.coef_, "toarray") else model.coef_
    coef_t = np.ascontiguousarray(np.asarray(coef, dtype=np_dtype).T)
    intercept = np.asarray(model.intercept_, dtype=np_dtype)
    coef_name = scope.get_unique_variable_name("coef")
    intercept_name = scope.get_unique_variable_name("intercept")
    container.add_initializer(
        coef_name, proto_dtype, coef_t.shape, coef_t.ravel().tolist()
    )
    container.add_initializer(
        intercept_name, proto_dtype, intercept.shape, intercept.tolist()
    )
    product_name = scope.get_unique_variable_name("product")
    logits_name = scope.get_unique_variable_name("logits")
    container.add_node(
        "MatMul", [input_name, coef_name], product_name,
        name=scope.get_unique_operator_name("MatMul"),
    )
    container.add_node(
        "Add", [product_name, intercept_name], logits_name,
        name=scope.get_unique_operator_name("Add"),
    )
    container.add_node(
        "Softmax", logits_name, operator.outputs[1].full_name, axis=-1,
        name=scope.get_unique_operator_name("Softmax"),
    )

    index_name = scope.get_unique_variable_name("argmax")
    container.add_node(
        "ArgMax", logits_name, index_name, axis=1, keepdims=0,
        name=scope.get_unique_operator_name("ArgMax"),
    )
    classes_name = scope.get_unique_variable_name("classes")
    classes = get_label_classes(scope, model)  # np.arange(n) under nocl=True
    if np.asarray(classes).dtype.kind in "OUS":
        values = [str(c).encode("utf-8") for c in classes]
        container.add_initializer(
            classes_name, TensorProto.STRING, [len(values)], values
        )
    else:
        values = [int(c) for c in classes]
        container.add_initializer(
            classes_name, TensorProto.INT64, [len(values)], values
        )
    container.add_node(
        "Gather", [classes_name, index_name], operator.outputs[0].full_name,
        axis=0, name=scope.get_unique_operator_name("Gather"),
    )


def _float_input(scope, operator, container):
    """The input's name, ONNX and NumPy float dtypes (integers cast to float)."""
    input_name = operator.inputs[0].full_name
    input_type = operator.inputs[0].type
    if isinstance(input_type, (BooleanTensorType, Int64TensorType)):
        cast_name = scope.get_unique_variable_name("cast_input")
        container.add_node(
            "Cast", input_name, cast_name, to=TensorProto.FLOAT,
            name=scope.get_unique_operator_name("Cast"),
        )
        return cast_name, TensorProto.FLOAT, np.float32
    np_dtype = np.float64 if isinstance(input_type, DoubleTensorType) else (
        np.float32)
    return input_name, guess_proto_type(input_type), np_dtype


def _check_zipmap(container, model, input_type):
    """ONNX's ZipMap takes float32 only: say so before writing a broken graph."""
    options = container.get_options(model, dict(zipmap=True))
    if isinstance(input_type, DoubleTensorType) and options["zipmap"] is True:
        raise ValueError(
            "A float64 input (DoubleTensorType) gives float64 probabilities, "
            "which ONNX's ZipMap (the default zipmap=True) does not accept: "
            "onnxruntime would reject the graph. Pass "
            f"options={{{type(model).__name__}: {{'zipmap': False}}}} (a probability "
            "tensor) or "
            "{'zipmap': 'columns'}, or use a float32 input."
        )


def register_converter():
    """Register the shape calculator and converter with skl2onnx.

    Called when :mod:`sksoftmax.onnx` is imported; calling it again is harmless.
    It registers :class:`~sksoftmax.SoftmaxClassifier` and
    :class:`~sksoftmax.SoftmaxClassifierCV` (which predicts with its refit's
    ``coef_`` and ``intercept_``). skl2onnx's own classifier parser then
    declares the ``label`` and ``probabilities`` outputs and applies the
    ``zipmap`` option.

    Examples
    --------
    >>> import sksoftmax.onnx  # registers the converter on import
    >>> sksoftmax.onnx.register_converter()  # again: harmless
    """
    for estimator, alias in ((SoftmaxClassifier, ALIAS),
                             (SoftmaxClassifierCV, _ALIAS_CV)):
        update_registered_converter(
            estimator,
            alias,
            calculate_softmax_classifier_output_shapes,
            convert_softmax_classifier,
            options=_OPTIONS,
        )


register_converter()
