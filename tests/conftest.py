"""Shared pytest configuration: hypothesis profiles.

``ci`` (derandomized, so a CI run is reproducible) is loaded when the ``CI``
environment variable is set, ``dev`` otherwise; ``HYPOTHESIS_PROFILE`` picks
one explicitly.
"""

import os

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
