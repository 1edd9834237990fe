"""Find RUNNING runs nobody is running any more, and mark them KILLED with the reason.

A launch, a dry run, a resume and ``ablab-report`` call ``reap_stale_runs`` first, so a study
killed with ``kill -9`` does not leave zombie runs behind for ever: a run is dead when its
owner process is gone from this host, or when its heartbeat is older than
``ablab.tracking.liveness.stale_after_s()`` ($ABLAB_STALE_AFTER_S; the only test for another host).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from mlflow.entities import Run, RunStatus
from mlflow.tracking import MlflowClient

from ablab.tracking.client import search_all_runs
from ablab.tracking.liveness import owner_gone, stale_after_s
from ablab.tracking.tags import HEARTBEAT_AT, KILLED_REASON, OWNER_HOST, OWNER_PID

RUNNING = RunStatus.to_string(RunStatus.RUNNING)
KILLED = RunStatus.to_string(RunStatus.KILLED)


@dataclass(frozen=True)
class StaleRun:
    run_id: str
    name: str
    reason: str


def last_sign_of_life(run: Run) -> float:
    """Unix seconds of the run's latest heartbeat (its start for runs without one)."""
    beat = run.data.tags.get(HEARTBEAT_AT, "")
    return float(beat) if beat.isdigit() else run.info.start_time / 1000


def why_dead(run: Run, now: float, stale_s: float) -> str | None:
    """Why a RUNNING run is dead, or None while its owner may still be working on it."""
    tags = run.data.tags
    if owner_gone(tags):
        return f"its owner process {tags[OWNER_PID]} on {tags[OWNER_HOST]} is gone"
    silent = now - last_sign_of_life(run)
    if silent > stale_s:
        return f"no heartbeat for {silent:.0f} s (more than {stale_s:g} s, $ABLAB_STALE_AFTER_S)"
    return None


def reap_stale_runs(
    client: MlflowClient, experiment_ids: Sequence[str], stale_s: float | None = None
) -> list[StaleRun]:
    """Mark every dead RUNNING run of the experiments KILLED (tag ``ablab.killed_reason``)."""
    if not experiment_ids:
        return []
    stale_s = stale_after_s() if stale_s is None else stale_s
    now = time.time()
    reaped = []
    for run in search_all_runs(client, experiment_ids, f"attributes.status = '{RUNNING}'"):
        reason = why_dead(run, now, stale_s)
        if reason is None:
            continue
        client.set_tag(run.info.run_id, KILLED_REASON, reason)
        client.set_terminated(run.info.run_id, KILLED)
        reaped.append(StaleRun(run.info.run_id, run.info.run_name or run.info.run_id, reason))
    return reaped


def describe(reaped: Sequence[StaleRun], limit: int = 5) -> str:
    """One paragraph for the plan and the report: how many, which, and why."""
    if not reaped:
        return ""
    shown = "; ".join(f"{r.name} ({r.run_id}): {r.reason}" for r in reaped[:limit])
    more = f"; and {len(reaped) - limit} more" if len(reaped) > limit else ""
    return (
        f"{len(reaped)} stale run(s) left RUNNING by a launch that died were marked KILLED "
        f"(tag {KILLED_REASON}): {shown}{more}."
    )
