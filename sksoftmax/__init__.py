"""sksoftmax: a scikit-learn compatible softmax classifier.

Multinomial logistic regression fitted by L-BFGS on the analytic
cross-entropy gradient, with soft targets, label smoothing and an ignore
label.
"""

from sksoftmax._cv import SoftmaxClassifierCV
from sksoftmax._inference import InferenceResult, inference
from sksoftmax._metrics import (
    cross_val_predict_proba,
    soft_log_loss,
    soft_log_loss_scorer,
)
from sksoftmax._softmax import SoftmaxClassifier

__version__ = "0.1.0"

__all__ = [
    "InferenceResult",
    "SoftmaxClassifier",
    "SoftmaxClassifierCV",
    "__version__",
    "cross_val_predict_proba",
    "inference",
    "soft_log_loss",
    "soft_log_loss_scorer",
]
