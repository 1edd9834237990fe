"""What a study's Hydra launch hands back: each planned job's error, and idle workers to stop."""

from __future__ import annotations

import sys
from typing import Any

from hydra.core.utils import JobStatus

from ablab._compat import job_error


def job_errors(covered: list, result: Any) -> list[tuple[Any, str]]:
    """Each job a launched Hydra job covered, with its error ("" when its run FINISHED).

    A pack job returns its runs' errors by run key; a failed Hydra job failed all it covered.
    """
    if result.status != JobStatus.COMPLETED:
        return [(job, job_error(result) or "failed") for job in covered]
    if len(covered) == 1:
        return [(covered[0], "")]
    by_key = result.return_value
    return [(job, by_key.get(job.run_key, {"error": "not trained by its pack"})["error"]) for job in covered]


def release_workers() -> None:
    """Stop the joblib launcher's idle worker processes now, not at interpreter exit, where
    loky waits seconds for each worker's TensorFlow to tear down; no-op for other launchers."""
    loky = sys.modules.get("joblib.externals.loky")
    if loky is not None:
        # reuse=True: the launcher's executor as it is. Asked with other arguments than joblib's,
        # loky would first shut it down gracefully, waiting for every worker (~1 s each).
        loky.get_reusable_executor(reuse=True).shutdown(wait=False, kill_workers=True)
