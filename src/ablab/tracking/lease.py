"""One live launch per study and store: the study's RUNNING parent run is its lease.

The parent run carries its owner and a heartbeat (``ablab.tracking.liveness``), so the lease expires
when its launch dies: ``reap_stale_runs`` marks it KILLED. Two launches that start at the same
moment both create a parent run, then both look: the later one (the earlier start time wins;
a tie makes both give way) ends its parent KILLED and refuses. Works on any store, a server
shared by several machines included.
"""

from __future__ import annotations

import time

from mlflow.entities import Run
from mlflow.tracking import MlflowClient

from ablab.errors import StudyBusy
from ablab.tracking.client import search_all_runs
from ablab.tracking.liveness import HEARTBEAT, stale_after_s
from ablab.tracking.stale_runs import KILLED, RUNNING, describe, last_sign_of_life, reap_stale_runs
from ablab.tracking.tags import KILLED_REASON, OWNER_HOST, OWNER_PID


def live_launches(client: MlflowClient, experiment_id: str) -> list[Run]:
    """The study's launches still RUNNING (reap stale runs first), oldest first."""
    return search_all_runs(
        client, [experiment_id], f"tags.`ablab.role` = 'study' and attributes.status = '{RUNNING}'"
    )


def holder_text(run: Run) -> str:
    tags = run.data.tags
    return (
        f"launch {run.info.run_id} (host {tags.get(OWNER_HOST, '?')}, pid {tags.get(OWNER_PID, '?')}, "
        f"last heartbeat {time.time() - last_sign_of_life(run):.0f} s ago)"
    )


def busy_message(study: str, holder: Run) -> str:
    return (
        f"study {study!r} is already running in this store: {holder_text(holder)} holds it. A second "
        "launch of the same study would train every run twice, so ablab refuses it (it does not "
        "wait). Launch again when that one has ended: runs it FINISHED are skipped. If it died, "
        f"its parent run is marked KILLED as soon as its process is gone from that host, or after "
        f"{stale_after_s():g} s without a heartbeat ($ABLAB_STALE_AFTER_S); different studies may "
        "run side by side."
    )


def claim(client: MlflowClient, parent_run_id: str, study: str) -> None:
    """After creating our parent run: give way (our parent KILLED, StudyBusy) to an earlier one."""
    mine = client.get_run(parent_run_id)
    for other in live_launches(client, mine.info.experiment_id):
        if other.info.run_id != parent_run_id and other.info.start_time <= mine.info.start_time:
            message = busy_message(study, other)
            client.set_tag(parent_run_id, KILLED_REASON, f"gave way to launch {other.info.run_id}")
            client.set_terminated(parent_run_id, KILLED)
            HEARTBEAT.remove(parent_run_id)
            raise StudyBusy(message)


def prepare_launch(client: MlflowClient, study: str, dry_run: bool) -> list[str]:
    """Before planning: mark the study's dead runs KILLED, then check nobody holds the study.

    Returns the lines to print with the plan; raises StudyBusy (a dry run only says it).
    """
    experiment = client.get_experiment_by_name(study)
    if experiment is None:
        return []
    notes = [describe(reap_stale_runs(client, [experiment.experiment_id]))]
    holders = live_launches(client, experiment.experiment_id)
    if holders and not dry_run:
        raise StudyBusy(busy_message(study, holders[0]))
    if holders:
        notes.append(f"Study {study!r} is being run now by {holder_text(holders[0])}.")
    return [note for note in notes if note]
