"""``python -m sksoftmax``: SoftmaxClassifier against LogisticRegression.

Run ``python -m sksoftmax --help`` for the options.
"""

import sys

from sksoftmax._demo import main

if __name__ == "__main__":
    sys.exit(main())
