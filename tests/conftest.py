"""Hypothesis profiles for pgref's tests.

- ``default``: no deadline (numerical tests have uneven run times), 50 examples, derandomised:
  the README's test command gives the same examples on every machine, so a failure is never luck.
- ``ci``: the same, printing reproduction blobs; chosen when ``CI`` is set.
- ``dev``: 10 examples, for a quick local loop (``HYPOTHESIS_PROFILE=dev``).
- ``explore``: 500 random (not derandomised) examples, to hunt for new counterexamples
  (``HYPOTHESIS_PROFILE=explore``).
"""

import os

from hypothesis import HealthCheck, settings

_common = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("default", max_examples=50, derandomize=True, **_common)
settings.register_profile("ci", max_examples=50, derandomize=True, print_blob=True, **_common)
settings.register_profile("dev", max_examples=10, derandomize=True, **_common)
settings.register_profile("explore", max_examples=500, **_common)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "default")
)
