"""Process-level execution settings: the backends' console noise, and their thread pools sized to
how many jobs share the cores (``ablab.run.backends`` sets them on the process's backend)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from hydra.core.hydra_config import HydraConfig


def quiet_console() -> None:
    """Keep the backends' start-up notices (TensorFlow's C++ INFO/WARNING lines) and MLflow's
    artifact download bars (the report reads curves and artifacts) off the console; must run
    before the backend is imported.

    Values the user set (``TF_CPP_MIN_LOG_LEVEL=0`` shows everything) are left alone. Worker
    processes started later (joblib) inherit the settings.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    # JAX's search for TPUs and GPUs on a machine without them says so at WARNING.
    for name in ("tensorflow", "absl", "jax._src.xla_bridge"):
        logging.getLogger(name).setLevel(logging.ERROR)


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


def configure_threads(requested: int | None, jobs: int | None = None) -> int | None:
    """Size the backend's thread pools; returns the size used, None for the backend's own default.

    With parallel jobs and no explicit size, each job gets cores // jobs threads so the jobs
    do not oversubscribe the machine. A backend fixes its pools at first use: a reused worker
    keeps the size it started with.
    """
    from ablab.run.backends import active_backend

    jobs = parallel_jobs() if jobs is None else jobs
    threads = requested or (max(1, (os.cpu_count() or 1) // jobs) if jobs > 1 else None)
    if threads is None:
        return None
    return active_backend().set_threads(threads)


def training_device() -> str:
    """What the backend trains on, for the run's record: its first GPU by name, else the CPU.

    Placement is the backend's own (a visible GPU is used); the model code never chooses."""
    from ablab.run.backends import active_backend

    return active_backend().device()
