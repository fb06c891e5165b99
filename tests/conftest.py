"""Shared pytest configuration: hypothesis profiles.

``ci`` (derandomized, so a CI run is reproducible) is loaded when the ``CI``
environment variable is set, ``dev`` otherwise; ``HYPOTHESIS_PROFILE`` picks
one explicitly.
"""

import os
import sys

# scikit-learn's array-API checks (check_estimator's check_array_api_input,
# tests/test_array_api.py) need SciPy's array API support, which SciPy reads
# from the environment when it is first imported: set it before any test
# module imports SciPy, so that the plain `python -m pytest` runs them.
if "scipy" not in sys.modules:
    os.environ.setdefault("SCIPY_ARRAY_API", "1")

try:
    from hypothesis import HealthCheck, settings
except ImportError:  # pragma: no cover - hypothesis is a test extra
    pass
else:
    _common = {
        "deadline": None,
        "suppress_health_check": [HealthCheck.too_slow],
    }
    settings.register_profile("ci", derandomize=True, print_blob=True, **_common)
    settings.register_profile("dev", **_common)
    settings.load_profile(
        os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev")
    )
