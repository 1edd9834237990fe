"""An ablation path end to end: `ablab-train study=seed study.design=path` at tiny size on real Keras
training (fused packs), its runs, the path its report shows, and a relaunch that resumes at the
step a partial launch stopped at."""

from __future__ import annotations

import pandas as pd
import pytest

from ablab.study.path import launch_path
from ablab.tracking.tags import ARM, SEED
from test_study_sweeper import ablab_train, client_for, study_runs

TINY_PATH = [
    "study=seed",
    "study.design=path",
    "study.name=tiny_path",
    "study.seeds=[0,1]",
    "trainer.epochs=1",
    "model.hidden_units=[8]",
    "hydra.launcher.n_jobs=2",
]
CONFIGURATIONS = 1 + 3 + 2 + 1  # the source and 3, 2, 1 candidates


def _path_arms(steps) -> list[str]:
    """The flips the replayed path took, in order."""
    return [step.chosen for step in steps]


@pytest.mark.slow
def test_a_path_study_walks_to_the_target_and_a_relaunch_resumes_at_its_step(tmp_path) -> None:
    (tmp_path / "conf").mkdir()
    first = ablab_train(tmp_path, *TINY_PATH)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "candidates per step: 3, 2, 1" in first.stdout
    assert "Ablation path: the target is reached." in first.stdout
    assert f"{CONFIGURATIONS * 2} finished, 0 skipped" in first.stdout

    client = client_for(tmp_path)
    parents, children = study_runs(client, "tiny_path")
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert {c.info.status for c in children} == {"FINISHED"}
    assert len({c.data.tags[ARM] for c in children}) == CONFIGURATIONS
    assert sorted({c.data.tags[SEED] for c in children}) == ["0", "1"]
    steps = launch_path(client, parents[0].info.run_id)
    assert len(steps) == 3 and sorted(_path_arms(steps)) == ["activation", "initializer", "optimizer"]
    first_choice = steps[0].chosen
    # Each step's candidates are the flips the steps before it left.
    assert [len(step.flips) for step in steps] == [3, 2, 1]
    assert steps[1].current == frozenset({first_choice})

    report = next((tmp_path / "reports" / "tiny_path").iterdir())
    path_table = pd.read_csv(report / "path_steps.csv")
    assert [flip.split("=")[0] for flip in path_table["flip"]] == _path_arms(steps)
    assert len(pd.read_csv(report / "path_runner_ups.csv")) == 2 + 1
    assert "## Ablation path" in (report / "report.md").read_text()

    # A partial launch: the runs after step 1 never finished (as if killed), so a relaunch replays
    # step 1 from the store and trains from step 2 on.
    step_one = {"baseline", *(c.data.tags[ARM] for c in children if "," not in c.data.tags[ARM])}
    later = [c for c in children if c.data.tags[ARM] not in step_one]
    for run in later:
        client.set_terminated(run.info.run_id, "FAILED")
    again = ablab_train(tmp_path, *TINY_PATH, "hydra.sweeper.report=false")
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"{len(later)} finished, 8 skipped" in again.stdout
    newest = max(study_runs(client, "tiny_path")[0], key=lambda run: run.info.start_time)
    resumed = launch_path(client, newest.info.run_id)
    assert resumed[0].chosen == first_choice and len(resumed) == 3
    assert all(step.chosen for step in resumed)
