"""In-process timing shared by the benchmarks that time calls rather than whole processes."""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_seconds(action: Callable[[], object], runs: int) -> float:
    """Median wall time of ``runs`` calls after one untimed warm-up (model load, CUDA kernel choice)."""
    action()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
