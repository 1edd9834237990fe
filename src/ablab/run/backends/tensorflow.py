"""TensorFlow under Keras: its quiet import, thread pools, device and fused engine."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from ablab.run.backends.cpu import cpu_name

# The engine module (``ablab.run.engines.<name>``) that trains ``trainer.engine=fused`` packs.
FUSED_ENGINE = "fused"

# Batches per compiled call (trainer.steps_per_execution): no limit.
MAX_STEPS_PER_EXECUTION: int | None = None

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


def import_library() -> None:
    """Import TensorFlow with its start-up notices filtered out of stderr (other lines pass).
    A no-op once TF is imported."""
    if "tensorflow" in sys.modules:
        return
    with _without_startup_noise():
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")  # the CUDA probe, here (it leaves thread pools open)


def set_threads(threads: int) -> int | None:
    """Size TF's intra/inter-op pools; TF fixes them at first use, so a reused worker keeps the
    size it started with (returned then)."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        return tf.config.threading.get_intra_op_parallelism_threads() or None
    return threads


def device() -> str:
    """TensorFlow's first GPU by name, else the CPU; placement is TensorFlow's own."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return cpu_name()
    name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", gpus[0].name)
    return f"GPU: {name}" + (f" (+{len(gpus) - 1} more visible)" if len(gpus) > 1 else "")
