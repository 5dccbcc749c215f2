"""Timing shared by the benchmarks (median of repeated runs)."""
import statistics
import time

import torch


def median_time(fn, repeats: int, device: str) -> float:
    """Median wall time of ``fn()`` over ``repeats`` runs after a warm-up."""
    fn()
    times = []
    for _ in range(repeats):
        if device == 'cuda':
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device == 'cuda':
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
