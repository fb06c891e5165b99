"""sksoftmax: a scikit-learn compatible softmax classifier.

Multinomial logistic regression fitted by L-BFGS on the analytic
cross-entropy gradient, with soft targets, label smoothing and an ignore
label.
"""

from sksoftmax._cv import SoftmaxClassifierCV
from sksoftmax._inference import MAX_PARAMS, InferenceResult, inference
from sksoftmax._softmax import SoftmaxClassifier

__version__ = "0.1.0"

__all__ = [
    "MAX_PARAMS",
    "InferenceResult",
    "SoftmaxClassifier",
    "SoftmaxClassifierCV",
    "__version__",
    "inference",
]
