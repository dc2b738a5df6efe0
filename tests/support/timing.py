"""Time limits of tests, scaled to how busy the machine is: a limit is a margin, never a measurement.

`scaled(seconds)` multiplies a limit chosen for an idle machine by FEATURESTORE_TEST_TIME_SCALE when set,
else by the load per core (1-minute load average / CPUs, at least 1, at most 8), so a suite run beside
CPU hogs gives its leases, stalls and waits proportionally more room instead of failing.
"""

from __future__ import annotations

import os

MAX_SCALE = 8.0


def time_scale() -> float:
    configured = os.environ.get("FEATURESTORE_TEST_TIME_SCALE")
    if configured:
        return max(1.0, float(configured))
    try:
        load = os.getloadavg()[0]
    except OSError:  # not available on this platform
        return 1.0
    return min(MAX_SCALE, max(1.0, load / (os.cpu_count() or 1)))


def scaled(seconds: float) -> float:
    return seconds * time_scale()
