"""A study's record in MLflow: its experiment, one parent run per launch, and resume lookups.

All of it happens in the launching process before any job starts, so parallel workers
never race to create the sqlite tables or the experiment.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from mlflow.entities import Param, RunStatus, RunTag
from mlflow.tracking import MlflowClient

from ablab.tracking.client import ensure_experiment, search_all_runs
from ablab.tracking.liveness import HEARTBEAT, owner_tags
from ablab.tracking.tags import (
    DESIGN,
    DESIGN_PARAM,
    KILLED_REASON,
    N_ARMS_PARAM,
    N_PLANNED_PARAM,
    N_SEEDS_PARAM,
    PARENT_RUN_ID,
    REFERENCE_ARM,
    ROLE,
    ROLE_STUDY,
    RUN_KEY,
    STUDY,
    count_tag,
)

FINISHED = RunStatus.to_string(RunStatus.FINISHED)
FAILED = RunStatus.to_string(RunStatus.FAILED)
KILLED = RunStatus.to_string(RunStatus.KILLED)
RUNNING = RunStatus.to_string(RunStatus.RUNNING)


@dataclass(frozen=True)
class PlannedRun:
    """One job of the plan, as written to the parent run's plan.json."""

    arm: str
    changed: dict[str, list[str]]
    seed: int
    run_key: str
    reference: bool
    dataset: str = ""  # the study.datasets option ("": the config's own dataset)


def planned_runs(jobs: Sequence) -> list[PlannedRun]:
    """The plan.json entries of a launch's jobs (``ablab.study.jobs.Job``)."""
    return [
        PlannedRun(
            arm=j.arm.name,
            changed={k: [str(a), str(b)] for k, (a, b) in j.arm.changed.items()},
            seed=j.seed,
            run_key=j.run_key,
            reference=j.arm.reference,
            dataset=j.dataset,
        )
        for j in jobs
    ]


def store_exists(tracking_uri: str) -> bool:
    """False for a sqlite file not yet created: read-only callers must not create it."""
    if tracking_uri.startswith("sqlite:///"):
        return Path(tracking_uri.removeprefix("sqlite:///")).exists()
    return True


def finished_run_keys(client: MlflowClient, study: str) -> set[str]:
    """Run keys that already have a FINISHED run in the study's experiment."""
    experiment = client.get_experiment_by_name(study)
    if experiment is None:
        return set()
    runs = search_all_runs(client, [experiment.experiment_id], f"attributes.status = '{FINISHED}'")
    return {run.data.tags[RUN_KEY] for run in runs if RUN_KEY in run.data.tags}


def open_study(
    client: MlflowClient,
    study: str,
    design: str,
    plan: Sequence[PlannedRun],
    n_arms: int,
    n_seeds: int,
    tags: Mapping[str, str] | None = None,
) -> str:
    """Create the experiment if needed and this launch's parent run (with ``tags`` besides the
    contract's: the study's margin, seed schedule); returns its id."""
    experiment_id = ensure_experiment(client, study)
    reference = next((p.arm for p in plan if p.reference), "")
    run = client.create_run(
        experiment_id,
        run_name=f"study {study}",
        tags={
            ROLE: ROLE_STUDY,
            STUDY: study,
            DESIGN: design,
            REFERENCE_ARM: reference,
            **owner_tags(),
            **(tags or {}),
        },
    )
    HEARTBEAT.add(client, run.info.run_id)  # the study's lease lives as long as its heartbeat
    params = {DESIGN_PARAM: design, N_ARMS_PARAM: n_arms, N_SEEDS_PARAM: n_seeds, N_PLANNED_PARAM: len(plan)}
    client.log_batch(run.info.run_id, params=[Param(k, str(v)) for k, v in params.items()])
    write_plan(client, run.info.run_id, plan)
    return run.info.run_id


def write_plan(client: MlflowClient, parent_run_id: str, plan: Sequence[PlannedRun]) -> None:
    """The launch's plan.json; adaptive seeds rewrite it after each round with the jobs added."""
    client.log_text(parent_run_id, json.dumps([asdict(p) for p in plan], indent=1), "plan.json")


def close_study(client: MlflowClient, parent_run_id: str, counts: dict[str, int]) -> None:
    """FINISHED when no job failed, FAILED otherwise; the counts go on the parent as tags."""
    client.log_batch(
        parent_run_id,
        tags=[RunTag(count_tag(name), str(count)) for name, count in counts.items()],
    )
    status = FAILED if counts.get("failed", 0) else FINISHED
    client.set_terminated(parent_run_id, status)
    HEARTBEAT.remove(parent_run_id)


def kill_study(client: MlflowClient, parent_run_id: str, reason: str = "interrupted (Ctrl-C)") -> int:
    """After Ctrl-C or a crashed launcher: the parent and any child still RUNNING end KILLED;
    returns how many children."""
    experiment_id = client.get_run(parent_run_id).info.experiment_id
    running = search_all_runs(
        client,
        [experiment_id],
        f"tags.`{PARENT_RUN_ID}` = '{parent_run_id}' and attributes.status = '{RUNNING}'",
    )
    for run_id in [*(run.info.run_id for run in running), parent_run_id]:
        client.set_tag(run_id, KILLED_REASON, reason)
        client.set_terminated(run_id, KILLED)
    HEARTBEAT.remove(parent_run_id)
    return len(running)
