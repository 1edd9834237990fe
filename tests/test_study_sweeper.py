"""The ablation sweeper end to end: real `ablab-train` processes, real sqlite stores in tmp dirs."""

import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
from mlflow.entities import RunStatus
from mlflow.tracking import MlflowClient
from omegaconf import OmegaConf

from ablab.study.bookkeeping import kill_study, open_study
from ablab.tracking.client import search_all_runs
from ablab.tracking.tags import (
    ARM,
    CHANGED,
    DESIGN,
    DIVERGED,
    ENGINE,
    HYDRA_OVERRIDES,
    PACK_SIZE,
    PARENT_RUN_ID,
    ROLE,
    RUN_KEY,
    SEED,
    STUDY,
    THREADS,
)

ABLAB_TRAIN = str(Path(sys.executable).with_name("ablab-train"))

TINY_STUDY = """\
# @package _global_
defaults:
  - override /hydra/sweeper: ablation
  - override /hydra/launcher: {launcher}
study:
  name: tiny
  design: ofat
  seeds: [0, 1]
  baseline: {baseline}
  factors: {factors}
trainer: {{epochs: 1, verbose: 0}}
model: {{hidden_units: [8]}}
hydra:
  mode: MULTIRUN
"""


def write_conf(
    root: Path,
    launcher: str = "joblib",
    factors: str = "{activation: [relu], optimizer: [adam]}",
    baseline: str = "{activation: sigmoid, optimizer: sgd}",
):
    (root / "conf" / "study").mkdir(parents=True, exist_ok=True)
    study = TINY_STUDY.format(launcher=launcher, factors=factors, baseline=baseline)
    (root / "conf" / "study" / "tiny.yaml").write_text(study)
    return root / "conf"


def add_exploding_optimizer(conf: Path) -> None:
    """optimizer=explode: SGD at learning rate 1e30, whose loss turns NaN in the first epoch."""
    (conf / "optimizer").mkdir()
    (conf / "optimizer" / "explode.yaml").write_text("name: sgd\nlearning_rate: 1.0e+30\nargs: {}\n")


def ablab_train(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    return subprocess.run(
        [ABLAB_TRAIN, f"--config-dir={cwd / 'conf'}", *args, f"hydra.sweep.dir={cwd / 'multirun'}"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def client_for(cwd: Path) -> MlflowClient:
    return MlflowClient(f"sqlite:///{cwd / 'mlflow.db'}")


def study_runs(client: MlflowClient, name: str = "tiny"):
    experiment = client.get_experiment_by_name(name)
    runs = search_all_runs(client, [experiment.experiment_id])
    parents = [r for r in runs if r.data.tags.get(ROLE) == "study"]
    children = [r for r in runs if RUN_KEY in r.data.tags]
    return parents, children


@pytest.mark.slow
def test_joblib_study_on_fresh_store_then_resume(tmp_path):
    write_conf(tmp_path, launcher="joblib")
    started = time.monotonic()
    first = ablab_train(tmp_path, "study=tiny", "hydra.launcher.n_jobs=2")
    wall = time.monotonic() - started
    assert first.returncode == 0, first.stderr[-3000:]
    assert "6 finished, 0 skipped" in first.stdout
    # After the outcome table, the report's verdicts in words, one line per compared arm; the
    # launch's time counts the whole command (planning included), not just the training.
    verdicts = first.stdout.split("Verdicts (Δ vs the compared arm, 95% CI):\n", 1)[1].splitlines()[:2]
    assert [line.split(": ")[0] for line in verdicts] == ["  activation=relu", "  optimizer=adam"]
    took = float(re.search(r"launch took ([\d.]+) s", first.stdout).group(1))
    assert 0.8 * wall <= took <= wall
    # What the user asked for, not the launcher's internals: no joblib options, no job overrides.
    console = first.stdout + first.stderr
    assert not [noise for noise in ("Joblib.Parallel", "#0 :", "+tracking.parent_run_id") if noise in console]
    assert "Training 6 run(s) in " in console
    # The study's last lines: its parent run, store, report and how to see the runs.
    report_html = re.search(r"  report      (\S+)", first.stdout).group(1)
    assert (tmp_path / report_html).is_file()
    assert f"see runs    ablab-ui --tracking-uri sqlite:///{tmp_path / 'mlflow.db'} --experiment tiny" in (
        first.stdout
    )

    client = client_for(tmp_path)
    parents, children = study_runs(client)
    assert len(parents) == 1 and len(children) == 6
    parent = parents[0]
    assert parent.info.status == "FINISHED"
    assert parent.data.params == {"design": "ofat", "n_arms": "3", "n_seeds": "2", "n_planned": "6"}
    assert {c.data.tags[PARENT_RUN_ID] for c in children} == {parent.info.run_id}
    assert {c.info.status for c in children} == {"FINISHED"}
    assert sorted((c.data.tags[ARM], c.data.tags[SEED]) for c in children) == sorted(
        (arm, seed) for arm in ("baseline", "activation=relu", "optimizer=adam") for seed in ("0", "1")
    )
    for child in children:
        tags = child.data.tags
        assert tags[STUDY] == "tiny" and tags[DESIGN] == "ofat"
        expected_changed = {"baseline": "", "activation=relu": "activation", "optimizer=adam": "optimizer"}
        assert tags[CHANGED] == expected_changed[tags[ARM]]
        assert child.data.params["trainer.seed"] == tags[SEED]
        # 2 parallel jobs share the cores: each gets cores // 2 threads (1 on a 2-core machine).
        assert child.data.tags[THREADS] == str(max(1, (os.cpu_count() or 1) // 2))
    assert len({c.data.tags[RUN_KEY] for c in children}) == 6
    # Nothing leaked into the Default experiment.
    assert client.search_runs(["0"]) == []

    # The report is written at the end of the launch, on disk and on the parent run.
    (report_dir,) = (tmp_path / "reports" / "tiny").iterdir()
    expected = {"report.md", "report.html", "table.csv", "learning_curves.png", "effect.png", "seeds.png"}
    assert expected <= {p.name for p in report_dir.iterdir()}
    table = pd.read_csv(report_dir / "table.csv")
    assert table["arm"].tolist() == ["baseline", "activation=relu", "optimizer=adam"]
    assert (table["n_finished"] == 2).all()
    logged = {a.path for a in client.list_artifacts(parent.info.run_id, "report")}
    assert {f"report/{name}" for name in expected} <= logged

    again = ablab_train(tmp_path, "study=tiny", "hydra.sweeper.report=false")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "0 finished, 6 skipped" in again.stdout

    by_arm = {(c.data.tags[ARM], c.data.tags[SEED]): c for c in children}
    deleted = by_arm[("activation=relu", "1")]
    failed = by_arm[("optimizer=adam", "0")]
    client.delete_run(deleted.info.run_id)
    client.set_terminated(failed.info.run_id, "FAILED")

    dry = ablab_train(tmp_path, "study=tiny", "hydra.sweeper.dry_run=true")
    assert dry.returncode == 0 and "4 already FINISHED, 2 to run" in dry.stdout
    assert dry.stdout.count(" keras ") == 3  # the engine column: one row per arm
    resumed = ablab_train(tmp_path, "study=tiny", "hydra/launcher=basic", "hydra.sweeper.report=false")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "2 finished, 4 skipped" in resumed.stdout
    parents, children = study_runs(client)
    newest = max(parents, key=lambda p: p.info.start_time)
    rerun = [c for c in children if c.data.tags[PARENT_RUN_ID] == newest.info.run_id]
    assert sorted((c.data.tags[ARM], c.data.tags[SEED]) for c in rerun) == [
        ("activation=relu", "1"),
        ("optimizer=adam", "0"),
    ]
    # The earlier FINISHED runs were not touched.
    assert client.get_run(by_arm[("baseline", "0")].info.run_id).info.end_time == (
        by_arm[("baseline", "0")].info.end_time
    )


@pytest.mark.slow
def test_failing_and_diverging_arms_are_isolated(tmp_path):
    conf = write_conf(
        tmp_path,
        launcher="basic",
        baseline="{activation: relu, optimizer: sgd}",
        factors="{activation: [tanh, broken], optimizer: [explode]}",
    )
    (conf / "activation").mkdir()
    # Passes the pre-flight checks (Keras knows leaky_relu and its argument name) but fails in training.
    (conf / "activation" / "broken.yaml").write_text("name: leaky_relu\nargs: {negative_slope: oops}\n")
    add_exploding_optimizer(conf)
    result = ablab_train(tmp_path, "study=tiny", "study.seeds=[0]", "hydra.sweeper.report=false")
    assert result.returncode == 1
    assert "Study summary: 2 finished, 0 skipped (already FINISHED), 2 failed" in result.stdout
    assert "failed in activation=broken" in result.stdout
    assert "failed in optimizer=explode" in result.stdout and "loss became nan" in result.stdout

    parents, children = study_runs(client_for(tmp_path))
    status = {c.data.tags[ARM]: c.info.status for c in children}
    assert status == {
        "baseline": "FINISHED",
        "activation=tanh": "FINISHED",
        "activation=broken": "FAILED",
        "optimizer=explode": "FAILED",
    }
    diverged = {c.data.tags[ARM] for c in children if c.data.tags.get(DIVERGED) == "true"}
    assert diverged == {"optimizer=explode"}
    assert parents[0].info.status == "FAILED"
    assert parents[0].data.tags["ablab.failed"] == "2"


@pytest.mark.slow
def test_fused_study_packs_isolates_and_resumes(tmp_path):
    conf = write_conf(
        tmp_path,
        baseline="{activation: relu, optimizer: sgd, normalization: none}",
        factors="{activation: [tanh], optimizer: [adam, explode], normalization: [batchnorm]}",
    )
    add_exploding_optimizer(conf)
    first = ablab_train(tmp_path, "study=tiny", "trainer.engine=fused", "hydra.launcher.n_jobs=2")
    output = first.stdout + first.stderr
    assert first.returncode == 1, output[-3000:]
    assert "Study summary: 8 finished, 0 skipped (already FINISHED), 2 failed" in output
    assert "Fused engine: 10 runs in 2 pack(s) of 5, 5" in output  # batch norm packed too
    assert "failed in optimizer=explode" in output and "loss became nan" in output

    client = client_for(tmp_path)
    parents, children = study_runs(client)
    assert len(children) == 10 and parents[0].info.status == "FAILED"
    for child in children:
        arm, tags = child.data.tags[ARM], child.data.tags
        assert child.info.status == ("FAILED" if arm == "optimizer=explode" else "FINISHED"), arm
        assert tags[ENGINE] == "fused" and tags[PACK_SIZE] == "5"
        assert (tags.get(DIVERGED) == "true") == (arm == "optimizer=explode")
        assert tags[PARENT_RUN_ID] == parents[0].info.run_id
        if child.info.status == "FINISHED":
            assert {"test_accuracy", "loss", "val_accuracy"} <= set(child.data.metrics)
        # Each run's own Hydra files, also for packed runs (whose Hydra job was the pack's).
        hydra_dir = Path(client.download_artifacts(child.info.run_id, ".hydra", str(tmp_path / "dl")))
        overrides = OmegaConf.to_container(OmegaConf.load(hydra_dir / "overrides.yaml"))
        assert " ".join(overrides) == tags[HYDRA_OVERRIDES] and f"ablab.arm:'{arm}'" in overrides[-1]
        assert not any(o.startswith("+pack=") for o in overrides)
        assert OmegaConf.load(hydra_dir / "hydra.yaml").hydra.overrides.task == overrides
        assert OmegaConf.load(hydra_dir / "config.yaml").trainer.seed == int(tags[SEED])
        # Packed runs, jobs in parallel: every run has its three splits as dataset inputs.
        inputs = client.get_run(child.info.run_id).inputs.dataset_inputs
        assert sorted(i.tags[0].value for i in inputs) == ["test", "train", "validation"]
    # The compare view gets one axis per key: every arm has the same param keys, whatever args
    # its options take (sgd: momentum, nesterov; adam: betas...; explode: none), and no
    # setting that cannot change the numbers.
    assert len({frozenset(c.data.params) for c in children}) == 1
    args = {c.data.params["optimizer.args"] for c in children}
    assert len(args) == 3 and {'{"momentum": 0.0, "nesterov": false}', "{}"} < args
    assert not {"trainer.verbose", "tracking.uri", "objective"} & set(children[0].data.params)
    (report_dir,) = (tmp_path / "reports" / "tiny").iterdir()
    table = pd.read_csv(report_dir / "table.csv").set_index("arm")
    assert table["n_finished"].to_dict() == {
        "baseline": 2,
        "activation=tanh": 2,
        "optimizer=adam": 2,
        "optimizer=explode": 0,
        "normalization=batchnorm": 2,
    }
    report = (report_dir / "report.md").read_text()
    assert "trained by different engines" not in report

    # The packed runs' keys are the planned ones: a relaunch skips them and retries the failed.
    again = ablab_train(tmp_path, "study=tiny", "trainer.engine=fused", "hydra.sweeper.report=false")
    assert again.returncode == 1
    assert "Study summary: 0 finished, 8 skipped (already FINISHED), 2 failed" in again.stdout


@pytest.mark.parametrize(
    ("factors", "extra", "message"),
    [
        ("{activation: [reluu]}", [], "option(s) ['reluu'] not found in conf/activation/"),
        ("{activaton: [relu]}", [], "'activaton' is neither a config group nor a config value"),
        (
            "{activaton: [relu]}",
            [],
            "use a group (initializer, activation, optimizer, dataset, model, scaling, normalization, "
            "regularization, ensemble, trainer)",
        ),
        ("{activation: [sigmoid]}", [], "baseline's own value"),
        ("{activation: []}", [], "empty list"),
        ("{activation: [relu]}", ["study.seeds=[1,1]"], "repeats [1]"),
        ("{activation: [relu]}", ["study.design=grid"], "allowed: ofat, leave_one_out, ladder, factorial"),
        ("{activation: [relu]}", ["activation=tanh"], "clash with the study"),
        ("{activation: [relu]}", ["trainer.epochs=1,2"], "does not take sweep overrides"),
        ("{activation: [relu]}", ["hydra.sweeper.max_pack_size=0"], "max_pack_size=0 is out of range"),
    ],
)
def test_bad_studies_fail_before_anything_is_written(tmp_path, factors, extra, message):
    write_conf(tmp_path, launcher="basic", factors=factors)
    result = ablab_train(tmp_path, "study=tiny", *extra)
    assert result.returncode == 2, result.stderr[-3000:]
    assert message in result.stderr
    assert not (tmp_path / "mlflow.db").exists()


def test_impure_arm_is_refused(tmp_path):
    conf = write_conf(tmp_path, launcher="basic", factors="{optimizer: [sneaky]}")
    (conf / "optimizer").mkdir()
    (conf / "optimizer" / "sneaky.yaml").write_text(
        textwrap.dedent(
            """\
            # @package _global_
            optimizer: {name: adam, learning_rate: 0.001, args: {}}
            initializer: {args: {minval: -0.5}}
            """
        )
    )
    result = ablab_train(tmp_path, "study=tiny")
    assert result.returncode == 2
    assert (
        "arm 'optimizer=sneaky' is not pure" in result.stderr and "initializer.args.minval" in result.stderr
    )
    assert not (tmp_path / "mlflow.db").exists()


def test_interrupted_study_leaves_nothing_running(tmp_path):
    client = client_for(tmp_path)
    parent_id = open_study(client, "tiny", "ofat", [], n_arms=1, n_seeds=1)
    experiment_id = client.get_run(parent_id).info.experiment_id
    child = client.create_run(experiment_id, tags={PARENT_RUN_ID: parent_id})
    finished = client.create_run(experiment_id, tags={PARENT_RUN_ID: parent_id})
    client.set_terminated(finished.info.run_id, "FINISHED")

    assert kill_study(client, parent_id) == 1
    assert client.get_run(child.info.run_id).info.status == RunStatus.to_string(RunStatus.KILLED)
    assert client.get_run(finished.info.run_id).info.status == "FINISHED"
    assert client.get_run(parent_id).info.status == "KILLED"
