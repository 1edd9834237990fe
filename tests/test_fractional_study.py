"""A fractional screening through `ablab-train` on real Keras training: the series' six factors
(ensemble included) at resolution IV, then the confirmation round of the factors that screen in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from ablab.tracking.client import search_all_runs
from ablab.tracking.tags import ARM, CONFIRM, ROLE, RUN_KEY

ABLAB_TRAIN = str(Path(sys.executable).with_name("ablab-train"))


@pytest.mark.slow
def test_series_screening_runs_16_arms_then_confirms_what_screened_in(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    result = subprocess.run(
        [
            ABLAB_TRAIN,
            "study=series_fractional",
            "study.name=screen",
            "study.seeds=[0,1]",
            "study.confirm=true",
            "dataset=digits",
            "trainer.epochs=2",
            "model.hidden_units=[8]",
            f"hydra.sweep.dir={tmp_path / 'multirun'}",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "Study 'screen' (fractional): 16 arms x seeds = 32 runs" in out
    assert (
        "resolution IV, 16 of the 64 arms of the full factorial (2^6) x 2 seeds = 32 runs instead of 128"
        in out
    )
    # sgd -> adam is by far the largest change at 2 epochs: it screens in and is confirmed alone.
    assert "Confirmation round (ofat vs baseline, seeds 0, 1): " in out and "optimizer" in out

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("screen")
    runs = search_all_runs(client, [experiment.experiment_id])
    parent = next(r for r in runs if r.data.tags.get(ROLE) == "study")
    children = [r for r in runs if RUN_KEY in r.data.tags]
    confirmed = json.loads(parent.data.tags[CONFIRM])
    assert "optimizer" in confirmed["factors"] and "optimizer=adam" in confirmed["added"]
    assert len(children) == 32 + 2 * len(confirmed["added"])
    assert {r.info.status for r in children} == {"FINISHED"} and parent.info.status == "FINISHED"
    ensembles = [r for r in children if "ensemble=soft_vote" in r.data.tags[ARM]]
    assert len(ensembles) == 16  # half the arms switch the ensemble on, 2 seeds each

    folder = next((tmp_path / "reports" / "screen").iterdir())
    effects = pd.read_csv(folder / "effects.csv").set_index("term")
    assert effects.loc["optimizer", "verdict"] == "better"
    assert len(effects) == 6 + 7  # six main effects, one per two-factor alias chain
    assert pd.read_csv(folder / "aliases.csv")["letters"].iloc[0].startswith("I = ")
    confirmation = pd.read_csv(folder / "confirmation.csv").set_index("arm")
    assert confirmation.loc["optimizer=adam", "n_finished"] == 2
    markdown = (folder / "report.md").read_text()
    for title in ("## Screening: effects", "## Aliases", "## Confirmation (ofat)", "### Main effects"):
        assert title in markdown
