"""The study progress bar counts the launch's ended child runs in a real MLflow store."""

from __future__ import annotations

import io
import time

from mlflow.tracking import MlflowClient

from ablab.study.progress import ended_children, study_progress
from ablab.tracking.tags import PARENT_RUN_ID


def test_bar_counts_ended_child_runs_of_its_launch_only(store):
    client = MlflowClient(store)
    experiment_id = client.create_experiment("study")
    parent = client.create_run(experiment_id).info.run_id
    other_parent = client.create_run(experiment_id).info.run_id
    children = [client.create_run(experiment_id, tags={PARENT_RUN_ID: parent}) for _ in range(4)]
    client.create_run(experiment_id, tags={PARENT_RUN_ID: other_parent})  # another launch's
    assert ended_children(client, parent) == 0

    ending = ("FINISHED", "FAILED", "KILLED")
    output = io.StringIO()
    with study_progress(store, parent, total=4, every_s=0.05, file=output, disable=False) as bar:
        for child, status in zip(children, ending, strict=False):  # a launcher's jobs, ending
            client.set_terminated(child.info.run_id, status)
        deadline = time.monotonic() + 30
        while bar.n < 3 and time.monotonic() < deadline:  # the polling thread catches up
            time.sleep(0.05)
        assert bar.n == 3
    # The fourth run is still RUNNING: the bar ends at 3 of 4, never ahead of the store.
    assert ended_children(client, parent) == 3
    text = output.getvalue()
    assert "Study runs" in text and "3/4" in text and "4/4" not in text
