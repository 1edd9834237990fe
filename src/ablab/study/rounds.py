"""Adaptive seeds in a launch: what the parent run records, and after each round which arms get
more seeds. The decisions come from the same replay the report shows (``sequential.arm_decisions``)
on the values the report reads from MLflow, so the sweeper and the report cannot disagree.
"""

from __future__ import annotations

import json
from dataclasses import asdict

import pandas as pd
from mlflow.tracking import MlflowClient

from ablab.stats.sequential import arm_decisions
from ablab.study.spec import StudySpec
from ablab.tracking.tags import DIRECTION, MARGIN, METRIC, SEED_SCHEDULE


def study_tags(spec: StudySpec) -> dict[str, str]:
    """The study settings the report needs, as parent-run tags: what it compares, which way is
    better, the equivalence margin and the seed schedule."""
    tags = {METRIC: spec.metric, DIRECTION: spec.direction}
    if spec.margin is not None:
        tags[MARGIN] = repr(spec.margin)
    if spec.schedule is not None:
        tags[SEED_SCHEDULE] = json.dumps(asdict(spec.schedule))
    return tags


def launch_decisions(client: MlflowClient, parent_run_id: str, alpha: float) -> pd.DataFrame:
    """Each compared arm's sequential decision so far (``sequential.arm_decisions``), from MLflow."""
    from ablab.report.findings import recorded_margin
    from ablab.report.launch_record import load_launch, recorded_schedule
    from ablab.report.metric import launch_scores

    launch = load_launch(client, client.get_run(parent_run_id))
    schedule = recorded_schedule(launch.parent_tags)
    if schedule is None:
        raise ValueError(f"study launch {parent_run_id} has no seed schedule ({SEED_SCHEDULE} tag)")
    choice, runs = launch_scores(client, launch.finished, launch.parent_tags)
    margin = recorded_margin(launch.parent_tags) or choice.default_margin(
        runs.loc[runs["arm"] == launch.reference_arm, "value"].mean()
    )
    return arm_decisions(
        runs, launch.arms, launch.reference_arm, schedule, alpha, margin, choice.higher_is_better
    )


def undecided_arms(decisions: pd.DataFrame) -> list[str]:
    """The arms the next round adds seeds to (with their reference); empty when all are decided."""
    return list(decisions.loc[decisions["outcome"] == "running", "arm"])
