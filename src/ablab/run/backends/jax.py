"""JAX under Keras: XLA's CPU or GPU. JAX sizes its own thread pools and is deterministic on the
CPU; Keras' ``set_random_seed`` seeds its ``SeedGenerator`` streams."""

from __future__ import annotations

import os

from ablab.run.backends.cpu import cpu_name

# trainer.engine=fused: jax.vmap over the stacked models of a pack (ablab.run.engines.fused_jax).
FUSED_ENGINE: str | None = "fused_jax"

# Batches per compiled call (trainer.steps_per_execution): no limit.
MAX_STEPS_PER_EXECUTION: int | None = None


def import_library() -> None:
    """Import JAX; on a GPU it takes memory as arrays need it (XLA's default, 75% of the GPU
    at start, would leave nothing to the other jobs sharing it). A value the user set stays."""
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    import jax  # noqa: F401


def set_threads(threads: int) -> int | None:
    """XLA fixes its CPU pools when JAX starts (from ``XLA_FLAGS``); ablab leaves them be."""
    return None


def device() -> str:
    """JAX's default device: its first accelerator by kind, else the CPU."""
    import jax

    devices = jax.devices()
    if devices[0].platform == "cpu":
        return cpu_name()
    more = f" (+{len(devices) - 1} more visible)" if len(devices) > 1 else ""
    return f"{devices[0].platform.upper()}: {devices[0].device_kind}{more}"
