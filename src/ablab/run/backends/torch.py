"""PyTorch under Keras: its CPU thread pools, CUDA device and deterministic algorithms."""

from __future__ import annotations

from ablab.run.backends.cpu import cpu_name

# No fused engine on PyTorch: ``trainer.engine=fused`` trains on the Keras engine, logged.
FUSED_ENGINE: str | None = None

# Keras runs one batch per call on PyTorch (it refuses steps_per_execution > 1): the setting is speed only.
MAX_STEPS_PER_EXECUTION: int | None = 1


def import_library() -> None:
    """Import PyTorch, asking for its deterministic algorithms (a GPU run repeats itself as a
    CPU run does; cuDNN's autotuner off)."""
    import torch

    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False


def set_threads(threads: int) -> int | None:
    """Size PyTorch's intra-op pool, and its inter-op pool while it can still be set."""
    import torch

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(threads)
    except RuntimeError:  # set once per process, before any parallel work
        pass
    return torch.get_num_threads()


def device() -> str:
    """PyTorch's first CUDA device by name (Keras trains on it when one is visible), else the CPU."""
    import torch

    if not torch.cuda.is_available():
        return cpu_name()
    count = torch.cuda.device_count()
    more = f" (+{count - 1} more visible)" if count > 1 else ""
    return f"GPU: {torch.cuda.get_device_name(0)}{more}"
