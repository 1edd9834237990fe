"""Process-level execution settings: TF thread pools sized to how many jobs share the cores."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from hydra.core.hydra_config import HydraConfig


def launcher_workers(launcher: Mapping[str, Any]) -> int:
    """How many jobs a Hydra launcher config runs at once: joblib's n_jobs (-1: one per core),
    1 for the others."""
    n_jobs = launcher.get("n_jobs")
    if not isinstance(n_jobs, int) or n_jobs == 0:
        return 1
    cores = os.cpu_count() or 1
    return cores if n_jobs < 0 else min(n_jobs, cores)


def parallel_jobs() -> int:
    """How many jobs the current Hydra launcher runs at once (1 outside a parallel launcher)."""
    if not HydraConfig.initialized():
        return 1
    return launcher_workers(HydraConfig.get().launcher)


def configure_threads(requested: int | None) -> int | None:
    """Set TF's intra/inter-op pools; returns the size used, None for TF's own default.

    With parallel jobs and no explicit size, each job gets cores // jobs threads so the jobs
    do not oversubscribe the machine. TF fixes its pools at first use: a reused worker keeps
    the size it started with.
    """
    jobs = parallel_jobs()
    threads = requested or (max(1, (os.cpu_count() or 1) // jobs) if jobs > 1 else None)
    if threads is None:
        return None
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        return tf.config.threading.get_intra_op_parallelism_threads() or None
    return threads
