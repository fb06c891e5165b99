"""Warnings that point at the caller's line, whatever the path into sksoftmax."""

import sys
import warnings
from pathlib import Path

import sklearn

# Frames in these folders are skipped: sksoftmax itself, and scikit-learn,
# whose Pipeline, cross-validation and fit wrappers sit between a user's line
# and the estimator. (Python 3.12's ``skip_file_prefixes`` does the same; this
# works on 3.11 too.)
_SKIPPED = (
    str(Path(__file__).resolve().parent) + "/",
    str(Path(sklearn.__file__).resolve().parent) + "/",
)


def caller_stacklevel(skipped=_SKIPPED):
    """The ``stacklevel`` of the first frame outside ``skipped`` for our caller.

    Parameters
    ----------
    skipped : tuple of str, default=(sksoftmax's and scikit-learn's folders)
        Filename prefixes of frames to skip.

    Returns
    -------
    stacklevel : int
        For a ``warnings.warn`` call made by the function that called this
        one.
    """
    frame = sys._getframe(2)  # the caller of our caller (stacklevel=2)
    level = 2
    # Stop at the outermost frame if every frame is skipped (scikit-learn's
    # own estimator checks calling fit).
    while frame.f_back is not None and _resolved(
            frame.f_code.co_filename).startswith(skipped):
        frame = frame.f_back
        level += 1
    return level


def _resolved(filename):
    try:
        return str(Path(filename).resolve())
    except (OSError, RuntimeError):  # pragma: no cover - "<string>" and such
        return filename


def warn(message, category):
    """``warnings.warn`` attributed to the first frame outside sksoftmax and
    scikit-learn.

    Parameters
    ----------
    message : str
        The warning's text.
    category : type
        A ``Warning`` subclass.
    """
    warnings.warn(message, category, stacklevel=caller_stacklevel())
