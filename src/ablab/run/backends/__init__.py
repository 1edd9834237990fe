"""The Keras backend a process trains on (``trainer.backend``: tensorflow, jax or torch).

Keras reads ``KERAS_BACKEND`` once, at its first import, so ``use_backend`` sets it before
anything imports Keras, in every process that trains (``ablab-train``, joblib workers, pack
jobs, Ray/Slurm jobs: each calls it before the training code is imported). What ablab does with
the backend library itself (thread pools, the device a run trains on, determinism, which fused
engine exists) is in one module per backend beside this one; the rest of ablab is backend-free.
Nothing here imports a backend until ``use_backend`` is called: planning, ``--help`` and the
report never load one.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from types import ModuleType

from ablab.config.schema import BACKENDS
from ablab.errors import ConfigError

# The Python package each backend needs, and the ablab extra that installs it.
PACKAGES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}
EXTRAS = {"tensorflow": "ablab", "jax": "ablab[jax]", "torch": "ablab[torch]"}


def backend_problem(name: str, source: str = "") -> str | None:
    """Why ``trainer.backend=name`` cannot train here (one sentence), or None; imports nothing."""
    if name not in BACKENDS:
        return f"trainer.backend={name!r}{source} is not a Keras backend; allowed: {', '.join(BACKENDS)}."
    if importlib.util.find_spec(PACKAGES[name]) is None:
        return (
            f"trainer.backend={name!r}{source} needs the {PACKAGES[name]} package, which is not installed "
            f"in this environment ({sys.executable}); install it with pip install '{EXTRAS[name]}', or "
            f"pick an installed backend ({', '.join(installed_backends()) or 'none'})."
        )
    return None


def installed_backends() -> list[str]:
    """The backends whose package this environment has."""
    return [name for name in BACKENDS if importlib.util.find_spec(PACKAGES[name]) is not None]


def use_backend(name: str) -> ModuleType:
    """Make ``name`` the process's Keras backend and import it; returns its ablab module
    (``ablab.run.backends.<name>``). A no-op when Keras runs on it already.

    Raises ConfigError when the backend is unknown or missing, or when this process imported
    Keras on another backend already (one process trains on one backend).
    """
    problem = backend_problem(name)
    if problem:
        raise ConfigError(problem)
    if "keras" in sys.modules:
        current = sys.modules["keras"].backend.backend()
        if current != name:
            raise ConfigError(
                f"trainer.backend={name!r}, but this process trains on {current!r} already: Keras picks "
                "its backend once per process. Train each backend in a command of its own (a study or "
                "multirun takes trainer.backend for all of its runs, from the command line)."
            )
    os.environ["KERAS_BACKEND"] = name
    module = importlib.import_module(f"ablab.run.backends.{name}")
    module.import_library()
    return module


def active_backend() -> ModuleType:
    """The ablab module of the backend Keras runs on in this process (after ``use_backend``)."""
    import keras

    return importlib.import_module(f"ablab.run.backends.{keras.backend.backend()}")
