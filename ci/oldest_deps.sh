#!/usr/bin/env bash
# Run the test suite against the OLDEST numpy, scipy, scikit-learn and
# threadpoolctl that pyproject.toml declares, in a virtual environment of its
# own. Optional extras (dask, torch, onnx, skops, ...) are not installed: the
# tests that need them skip.
#
# scipy 1.11.0 was yanked from PyPI (license metadata), so pip never resolves
# ">=1.11" to it; 1.11.1 is the oldest scipy a user of "scipy>=1.11" can get.
# pandas 2.0.3 is the newest pandas built against numpy 1.24.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_PROGRESS_BAR=off

VENV="${OLDEST_VENV:-/tmp/oldest-venv}"
rm -rf "$VENV"
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q --only-binary=:all: \
    "numpy==1.24.0" "scipy==1.11.1" "scikit-learn==1.6.1" "threadpoolctl==3.1.0" \
    "pandas==2.0.3" "pytest>=7" "hypothesis>=6.80"
"$VENV/bin/python" -m pip install -q --no-deps -e .
"$VENV/bin/python" -c "import numpy, scipy, sklearn; print('oldest deps: numpy', \
numpy.__version__, 'scipy', scipy.__version__, 'scikit-learn', sklearn.__version__)"
"$VENV/bin/python" -m pytest -p no:cacheprovider "$@"
