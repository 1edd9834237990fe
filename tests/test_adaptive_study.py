"""Adaptive seeds end to end: a tiny real study whose sweeper adds a round of seeds to the arm still
undecided, records it in plan.json, reports why each arm stopped, and resumes like any launch."""

import json

import pandas as pd
import pytest

from ablab.report.render import md
from ablab.study.rounds import launch_decisions
from ablab.tracking import tags
from ablab.tracking.tags import ARM, SEED
from test_study_sweeper import ablab_train, client_for, study_runs

ADAPTIVE_STUDY = """\
# @package _global_
defaults:
  - override /hydra/sweeper: ablation
  - override /hydra/launcher: basic
study:
  name: tiny
  design: ofat
  # O'Brien-Fleming spends almost nothing at 2 seeds (|t| > ~200), and a 1e-9 margin cannot be
  # shown: the relu arm is certain to need the second round.
  seeds: {start: 2, step: 1, max: 3, spending: obrien_fleming}
  margin: 1.0e-9
  baseline: {activation: sigmoid}
  factors: {activation: [relu]}
trainer: {epochs: 1, verbose: 0}
model: {hidden_units: [8]}
hydra:
  mode: MULTIRUN
"""


@pytest.mark.slow
def test_the_sweeper_adds_seeds_to_undecided_arms_until_the_schedule_ends(tmp_path):
    (tmp_path / "conf" / "study").mkdir(parents=True)
    (tmp_path / "conf" / "study" / "tiny.yaml").write_text(ADAPTIVE_STUDY)
    first = ablab_train(tmp_path, "study=tiny", "hydra.sweeper.report=true")
    assert first.returncode == 0, first.stderr[-3000:]
    assert "Adaptive seeds, round 2: seeds 0-2 for activation=relu" in first.stdout
    assert "6 finished, 0 skipped" in first.stdout

    client = client_for(tmp_path)
    parents, children = study_runs(client)
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    ran = sorted((c.data.tags[ARM], int(c.data.tags[SEED])) for c in children)
    assert ran == [(arm, seed) for arm in ("activation=relu", "baseline") for seed in (0, 1, 2)]
    plan_path = client.download_artifacts(parents[0].info.run_id, "plan.json", str(tmp_path))
    planned = sorted((job["arm"], job["seed"]) for job in json.loads(open(plan_path).read()))
    assert planned == ran  # the second round's jobs were added to the launch's plan

    decisions = launch_decisions(client, parents[0].info.run_id, 0.05).set_index("arm")
    relu = decisions.loc["activation=relu"]
    assert relu["seeds"] == 3 and relu["outcome"] in ("better", "worse", "inconclusive")
    report_dirs = list((tmp_path / "reports" / "tiny").iterdir())
    table = pd.read_csv(report_dirs[0] / "table.csv").set_index("arm")
    assert table.loc["activation=relu", "verdict"] == relu["outcome"]
    markdown = (report_dirs[0] / "report.md").read_text()
    assert f"| activation=relu | 3 | {relu['outcome']} | {md(relu['reason'])} |" in markdown

    # The tag contract: every ablab.* tag a real study wrote is named in ablab.tracking.tags.
    contract = {value for name, value in vars(tags).items() if name.isupper() and isinstance(value, str)}
    contract |= {tags.count_tag(outcome) for outcome in ("finished", "skipped", "failed")}
    written = {key for run in [*parents, *children] for key in run.data.tags if key.startswith("ablab.")}
    assert written <= contract and {tags.SEED_SCHEDULE, tags.MARGIN, tags.RUN_KEY, tags.ARM} <= written

    again = ablab_train(tmp_path, "study=tiny", "hydra.sweeper.report=false")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "0 finished, 6 skipped" in again.stdout
