"""The study contract: a launch's plan, and for each planned job the run that answers it.

A relaunch skips jobs already FINISHED earlier, so a job's run may belong to an older parent:
for each planned run_key the newest FINISHED run counts among the launch's own runs and the
runs that started before it. A later launch's runs never answer for this one.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from mlflow.entities import Run
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from ablab.errors import ReportError
from ablab.report.read import runs_frame, search_all_runs
from ablab.stats.sequential import SeedSchedule
from ablab.tracking.tags import (
    ARM,
    CHANGED,
    DATASET,
    DESIGN,
    DESIGN_PARAM,
    DIVERGED,
    ERROR,
    PARENT_RUN_ID,
    REFERENCE_ARM,
    ROLE,
    ROLE_STUDY,
    RUN_KEY,
    SEED,
    SEED_SCHEDULE,
    STUDY,
    tag_column,
)

PLAN_FILE = "plan.json"
PLAN_COLUMNS = ["arm", "seed", "run_key", "reference", "changed", "dataset"]
RUN_KEY_COLUMN = tag_column(RUN_KEY)


@dataclass(frozen=True)
class Launch:
    """One study launch as the report sees it: plan, the finished runs, and what is missing."""

    parent_run_id: str
    study: str
    experiment_name: str
    design: str
    reference_arm: str
    start_time: pd.Timestamp
    plan: pd.DataFrame  # PLAN_COLUMNS, one row per planned job
    finished: pd.DataFrame  # plan columns + the answering FINISHED run's columns (runs_frame)
    unfinished: pd.DataFrame  # plan columns + status, diverged, run_id, error, attempts
    arms: list[str]  # reference arm first, then plan order
    notes: list[str] = field(default_factory=list)
    parent_tags: dict[str, str] = field(default_factory=dict)  # e.g. the study's metric and margin


def load_launch(client: MlflowClient, parent: Run) -> Launch:
    """The launch's plan and, per planned run key, its newest FINISHED run or its latest attempt."""
    tags = parent.data.tags
    experiment = client.get_experiment(parent.info.experiment_id)
    runs = runs_frame(search_all_runs(client, [parent.info.experiment_id]))
    runs = _children_only(runs)
    notes: list[str] = []
    plan = _read_plan(client, parent)
    if plan is None:
        plan = _plan_from_children(runs, parent.info.run_id)
        notes.append(
            f"The launch has no {PLAN_FILE} artifact: the plan was rebuilt from its child runs, "
            "so jobs that never started cannot be listed as missing."
        )
    reference = tags.get(REFERENCE_ARM) or _reference_from_plan(plan)
    arms = list(dict.fromkeys(plan["arm"]))
    if reference in arms:
        arms = [reference] + [arm for arm in arms if arm != reference]
    else:
        notes.append(f"The reference arm {reference!r} is not in the plan: no arm is compared with it.")
    keyed = _of_this_launch(runs[runs[RUN_KEY_COLUMN].isin(set(plan["run_key"]))], parent)
    newest_first = keyed.sort_values("start_time", ascending=False, kind="stable")
    finished_runs = newest_first[newest_first["status"] == "FINISHED"].drop_duplicates(RUN_KEY_COLUMN)
    finished = plan.merge(finished_runs, left_on="run_key", right_on=RUN_KEY_COLUMN, how="inner")
    unfinished = _unfinished(plan, newest_first, set(finished["run_key"]))
    return Launch(
        parent_run_id=parent.info.run_id,
        study=tags.get(STUDY) or experiment.name,
        experiment_name=experiment.name,
        design=tags.get(DESIGN) or parent.data.params.get(DESIGN_PARAM, "?"),
        reference_arm=reference,
        start_time=pd.Timestamp(parent.info.start_time, unit="ms"),
        plan=plan,
        finished=finished,
        unfinished=unfinished,
        arms=arms,
        notes=notes,
        parent_tags=dict(tags),
    )


def _of_this_launch(runs: pd.DataFrame, parent: Run) -> pd.DataFrame:
    """The launch's own child runs, and runs that started before it did (the FINISHED ones it
    skipped, earlier attempts); never the runs of a later launch."""
    if runs.empty:
        return runs
    parents = runs.get("tags.mlflow.parentRunId", pd.Series(None, runs.index, dtype=object))
    own = parents.eq(parent.info.run_id)
    return runs[own | (runs["start_time"] < parent.info.start_time)]


def _children_only(runs: pd.DataFrame) -> pd.DataFrame:
    """Job runs only: never a parent (ablab.role=study), never a run without a run key."""
    if runs.empty or RUN_KEY_COLUMN not in runs:
        return pd.DataFrame(columns=["run_id", "status", "start_time", RUN_KEY_COLUMN])
    is_parent = (
        runs[tag_column(ROLE)].eq(ROLE_STUDY) if tag_column(ROLE) in runs else pd.Series(False, runs.index)
    )
    return runs[runs[RUN_KEY_COLUMN].notna() & ~is_parent]


def _read_plan(client: MlflowClient, parent: Run) -> pd.DataFrame | None:
    names = {artifact.path for artifact in client.list_artifacts(parent.info.run_id)}
    if PLAN_FILE not in names:
        return None
    with tempfile.TemporaryDirectory() as folder:
        try:
            path = client.download_artifacts(parent.info.run_id, PLAN_FILE, folder)
            jobs = json.loads(Path(path).read_text())
        except (MlflowException, OSError, json.JSONDecodeError) as error:
            raise ReportError(
                f"cannot read {PLAN_FILE} of study launch {parent.info.run_id}: {error}"
            ) from error
    where = f"{PLAN_FILE} of study launch {parent.info.run_id}"
    if not isinstance(jobs, list):
        raise ReportError(f"{where} must be a JSON list of jobs, got {type(jobs).__name__}.")
    rows = []
    for number, job in enumerate(jobs):
        if not isinstance(job, dict) or not {"arm", "seed", "run_key"} <= set(job):
            raise ReportError(f"{where}: job {number} needs arm, seed and run_key; got {job!r}.")
        rows.append(
            {
                "arm": str(job["arm"]),
                "seed": int(job["seed"]),
                "run_key": str(job["run_key"]),
                "reference": bool(job.get("reference", False)),
                "changed": dict(job.get("changed") or {}),
                "dataset": str(job.get("dataset") or ""),
            }
        )
    return pd.DataFrame(rows, columns=PLAN_COLUMNS)


def _plan_from_children(runs: pd.DataFrame, parent_run_id: str) -> pd.DataFrame:
    """Without plan.json: one job per distinct run key among the launch's own child runs."""
    if runs.empty or tag_column(PARENT_RUN_ID) not in runs:
        return pd.DataFrame(columns=PLAN_COLUMNS)
    children = runs[runs[tag_column(PARENT_RUN_ID)] == parent_run_id].sort_values("start_time")
    children = children.drop_duplicates(RUN_KEY_COLUMN)
    rows = []
    for _, run in children.iterrows():
        keys = [key for key in str(run.get(tag_column(CHANGED)) or "").split(",") if key]
        rows.append(
            {
                "arm": run.get(tag_column(ARM)) or "?",
                "seed": int(run.get(tag_column(SEED)) or 0),
                "run_key": run[RUN_KEY_COLUMN],
                "reference": not keys,
                "changed": {key: ["?", _value_of(run, key)] for key in keys},
                "dataset": str(run.get(tag_column(DATASET)) or ""),
            }
        )
    return pd.DataFrame(rows, columns=PLAN_COLUMNS)


def _value_of(run: pd.Series, key: str) -> str:
    """A changed key's value in a run: the group-choice tag (``activation``) or the param."""
    for column in (f"tags.{key}", f"params.{key}"):
        value = run.get(column)
        if value is not None and not (isinstance(value, float) and pd.isna(value)):
            return str(value)
    return "?"


def _reference_from_plan(plan: pd.DataFrame) -> str:
    reference = plan.loc[plan["reference"].astype(bool), "arm"]
    if len(reference):
        return str(reference.iloc[0])
    return "baseline"


def _unfinished(plan: pd.DataFrame, newest_first: pd.DataFrame, finished_keys: set[str]) -> pd.DataFrame:
    """Planned jobs without a FINISHED run, with their newest attempt (FAILED, KILLED, ...)."""
    rows = []
    attempts_by_key = {key: group for key, group in newest_first.groupby(RUN_KEY_COLUMN, sort=False)}
    for _, job in plan[~plan["run_key"].isin(finished_keys)].iterrows():
        attempts = attempts_by_key.get(job["run_key"])
        row = job.to_dict()
        if attempts is None or attempts.empty:
            row.update(status="not run", diverged=False, run_id=None, error=None, attempts=0)
        else:
            latest = attempts.iloc[0]
            diverged = str(latest.get(tag_column(DIVERGED), "")).lower() == "true"
            error = latest.get(tag_column(ERROR))
            row.update(
                status=latest["status"],
                diverged=diverged,
                run_id=latest["run_id"],
                error=None if pd.isna(error) else str(error),
                attempts=len(attempts),
            )
        rows.append(row)
    return pd.DataFrame(rows, columns=PLAN_COLUMNS + ["status", "diverged", "run_id", "error", "attempts"])


def recorded_schedule(parent_tags: Mapping[str, str]) -> SeedSchedule | None:
    """The schedule a launch recorded on its parent run (``ablab.seed_schedule``), if any."""
    text = parent_tags.get(SEED_SCHEDULE)
    return SeedSchedule(**json.loads(text)) if text else None
