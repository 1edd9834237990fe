"""Start the joblib launcher's worker processes while the study plans, so its jobs do not wait for them.

A loky worker's first job imports the Keras backend, Keras, MLflow and the training code (~5 s each on
a 2-core machine), and its first MLflow client loads the store's module (~1 s for a database
store, under the store's file lock, so the other worker waited); the launcher then reuses the
same processes for every job. Starting them in a background thread while the sweeper composes
the study overlaps that start-up with planning; the checks that build models then run in one of
them (``ablab.study.arm_checks``). Best effort: if warming fails, the launch starts its workers
itself.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from ablab._compat import joblib_parallel_options
from ablab.run.runtime import launcher_workers

log = logging.getLogger(__name__)


def warm_up_workers(
    launcher: Mapping[str, Any], runs: int, tracking_uri: str, backend: str
) -> Future[list[int]] | None:
    """Start warming the workers of a joblib launcher config in a thread, as many as the study's
    ``runs`` can keep busy, on the study's Keras ``backend``; the future gives their process ids.
    Wait for it before the launch: two ``Parallel`` calls must not share the workers at once.
    None for other launchers and for a single worker (joblib runs it in-process)."""
    workers = launcher_workers(launcher)
    if "joblib" not in str(launcher.get("_target_", "")) or workers < 2 or runs < 1:
        return None
    thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ablab-warm-workers")
    warming = thread.submit(_warm, joblib_options(launcher), min(workers, runs), tracking_uri, backend)
    thread.shutdown(wait=False)  # the thread ends when the warming does
    return warming


def joblib_options(launcher: Mapping[str, Any]) -> dict[str, Any]:
    """The ``Parallel`` options Hydra's joblib launcher passes, so its launch finds the warm
    workers: loky reuses its processes only for the same options."""
    options = {key: value for key, value in launcher.items() if key != "_target_"}
    options["backend"] = "loky"  # as the launcher sets it
    joblib_parallel_options(options)
    return options


def _warm(options: dict[str, Any], workers: int, tracking_uri: str, backend: str) -> list[int]:
    """Run the imports once in ``workers`` workers (a worker with no job stays cold: no TensorFlow
    in its memory); returns their process ids."""
    from joblib import Parallel, delayed

    try:
        calls = (delayed(import_training_code)(tracking_uri, backend) for _ in range(workers))
        return Parallel(**options)(calls)
    except Exception as error:  # noqa: BLE001 - the launch starts its workers itself
        log.debug("warming the joblib workers failed: %s", error)
        return []


def import_training_code(tracking_uri: str, backend: str = "tensorflow") -> int:
    """What a training job imports (Keras on ``backend``, TensorFlow without its start-up
    notices) and its first client on ``tracking_uri`` loads; returns the pid."""
    from ablab.run.backends import use_backend
    from ablab.tracking.store import load_store_module

    use_backend(backend)
    import ablab.run.pipeline  # noqa: F401

    load_store_module(tracking_uri)

    return os.getpid()
