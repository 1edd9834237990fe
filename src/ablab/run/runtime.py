"""Process-level execution settings: TF's console noise, and its thread pools sized to how many
jobs share the cores."""

from __future__ import annotations

import logging
import os
import platform
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from hydra.core.hydra_config import HydraConfig


def quiet_console() -> None:
    """Keep TensorFlow's C++ INFO/WARNING lines and MLflow's artifact download bars (the report
    reads curves and artifacts) off the console; must run before TF is imported.

    Values the user set (``TF_CPP_MIN_LOG_LEVEL=0`` shows everything) are left alone. Worker
    processes started later (joblib) inherit the settings.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    for name in ("tensorflow", "absl"):
        logging.getLogger(name).setLevel(logging.ERROR)


# What TensorFlow writes to stderr from C++ before absl's logging is set up, whatever
# TF_CPP_MIN_LOG_LEVEL says: start-up notices, and the CUDA probe of a machine without a GPU
# (a run's summary says which device it trained on).
_STARTUP_NOISE = (
    "before absl::InitializeLog()",
    "oneDNN custom operations",
    "cpu_feature_guard",
    "Could not find cuda drivers",
    "failed call to cuInit",
)


@contextmanager
def _without_startup_noise() -> Iterator[None]:
    """Run the block with its C++ stderr filtered: the lines of ``_STARTUP_NOISE`` dropped, the
    others passed on. Unless the user set ``TF_CPP_MIN_LOG_LEVEL=0`` to see everything."""
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0":
        yield
        return
    with tempfile.TemporaryFile() as captured:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().decode(errors="replace").splitlines()
            kept = [line for line in lines if not any(noise in line for noise in _STARTUP_NOISE)]
            if kept:
                print("\n".join(kept), file=sys.stderr)


def import_tensorflow() -> None:
    """Import TensorFlow with its start-up notices filtered out of stderr (other lines pass).
    A no-op once TF is imported."""
    if "tensorflow" in sys.modules:
        return
    with _without_startup_noise():
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")  # the CUDA probe, here (it leaves thread pools open)


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
    """Set TF's intra/inter-op pools; returns the size used, None for TF's own default.

    With parallel jobs and no explicit size, each job gets cores // jobs threads so the jobs
    do not oversubscribe the machine. TF fixes its pools at first use: a reused worker keeps
    the size it started with.
    """
    jobs = parallel_jobs() if jobs is None else jobs
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


def training_device() -> str:
    """What TensorFlow trains on, for the run's record: its first GPU by name, else the CPU.

    Placement is TensorFlow's own (a visible GPU is used); the model code never chooses."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return f"CPU ({platform.machine()}, {os.cpu_count()} cores)"
    name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", gpus[0].name)
    return f"GPU: {name}" + (f" (+{len(gpus) - 1} more visible)" if len(gpus) > 1 else "")
