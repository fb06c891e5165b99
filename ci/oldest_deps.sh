#!/usr/bin/env bash
# Run the test suite against the OLDEST numpy, scipy, scikit-learn and
# threadpoolctl that pyproject.toml declares, in a virtual environment of its
# own. Optional extras (dask, torch, onnx, skops, ...) are not installed: the
# tests that need them skip.
#
# scipy 1.11.0 was yanked from PyPI (license metadata), so pip never resolves
# ">=1.11" to it; 1.11.1 is the oldest scipy a user of "scipy>=1.11" can get.
# pandas 2.0.3 supports numpy 1.24; pytest < 10 still accepts the generator
# that scikit-learn 1.6's parametrize_with_checks passes to parametrize.
# With CI set, tests/conftest.py loads the derandomized hypothesis profile.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_PROGRESS_BAR=off

# numpy 1.24 and scipy 1.11 have wheels up to Python 3.11.
python3 -c 'import sys; sys.exit(sys.version_info[:2] > (3, 11))' || {
    echo "ci/oldest_deps.sh needs Python <= 3.11 (numpy 1.24 wheels)" >&2; exit 1; }

VENV="${OLDEST_VENV:-/tmp/oldest-venv}"
rm -rf "$VENV"
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q --only-binary=:all: \
    "numpy==1.24.0" "scipy==1.11.1" "scikit-learn==1.6.1" "threadpoolctl==3.1.0" \
    "pandas==2.0.3" "pytest>=7,<10" "pytest-cov>=4" "hypothesis>=6.80"
"$VENV/bin/python" -m pip install -q --no-deps -e .
"$VENV/bin/python" -c "import numpy, scipy, sklearn; print('oldest deps: numpy', \
numpy.__version__, 'scipy', scipy.__version__, 'scikit-learn', sklearn.__version__)"
"$VENV/bin/python" -m pytest -p no:cacheprovider "$@"
