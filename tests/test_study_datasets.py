"""study.datasets: the whole design on each dataset, refused before training when it cannot work,
and a real tiny study over three offline datasets with its per-dataset and across-datasets report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from ablab.errors import ConfigError
from ablab.study.datasets import read_datasets
from ablab.study.spec import read_study
from ablab.tracking.tags import ARM, DATASET, PARENT_RUN_ID
from conftest import CONF_DIR
from test_study_sweeper import ablab_train, client_for, study_runs, write_conf

DATASETS = ["digits", "wine", "breast_cancer"]


def options(key: str) -> list[str]:
    return [path.stem for path in (CONF_DIR / key).glob("*.yaml")]


def composed(overrides: list[str]):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="train", overrides=overrides, return_hydra_config=True)


def spec_of(*overrides: str, command_line_keys: tuple[str, ...] = ()):
    """The seed study's spec as the sweeper reads it, each dataset's config composed on demand."""
    config = composed(["study=seed", *overrides])
    return read_study(
        config,
        options,
        list(command_line_keys),
        lambda d: composed(["study=seed", *overrides, f"dataset={d}"]),
    )


def test_the_study_keeps_its_datasets_in_order():
    assert spec_of("study.datasets=[wine,digits]").datasets == ("wine", "digits")
    assert spec_of().datasets == ()


@pytest.mark.parametrize(
    ("overrides", "keys", "message"),
    [
        (
            ["study.datasets=[digits,nope]"],
            (),
            r"lists \['nope'\], not found in conf/dataset/; allowed: .*wine",
        ),
        (["study.datasets=[digits,digits]"], (), r"lists \['digits'\] twice"),
        (["study.datasets=[]"], (), r"must be a non-empty list of dataset options"),
        (
            ["study.datasets=[digits,wine]", "+study.factors.dataset=[wine]"],
            (),
            r"'dataset' as a study.baseline or study.factors key",
        ),
        (
            ["study.datasets=[digits,wine]", "+study.baseline.dataset=digits"],
            (),
            r"'dataset' as a study.baseline or study.factors key",
        ),
        (
            ["study.datasets=[digits,wine]", "dataset=wine"],
            ("dataset",),
            r"dataset=\.\.\. on the command line",
        ),
        (
            ["study.datasets=[digits,diabetes]"],
            (),
            r"mixes tasks: digits \(classification\), diabetes \(regression\); the first dataset's default "
            r"metric 'test_accuracy' is not logged by diabetes\. Set study.metric to one every dataset "
            r"logs \(param_count, test_loss, train_seconds\)",
        ),
        (
            ["study.datasets=[digits,diabetes]", "+study.metric=test_accuracy"],
            (),
            r"study.metric 'test_accuracy' is not logged by diabetes",
        ),
    ],
)
def test_what_cannot_work_is_refused_in_one_paragraph(overrides, keys, message):
    with pytest.raises(ConfigError, match=message) as refused:
        spec_of(*overrides, command_line_keys=keys)
    assert "\n" not in str(refused.value)


def test_a_shared_metric_lets_regression_and_classification_share_a_study():
    spec = spec_of("study.datasets=[digits,diabetes]", "+study.metric=test_loss")
    assert (spec.metric, spec.direction, spec.datasets) == ("test_loss", "minimize", ("digits", "diabetes"))


def test_the_metric_defaults_to_the_datasets_task():
    spec = spec_of("study.datasets=[diabetes]")
    assert (spec.metric, spec.direction) == ("test_mse", "minimize")


def test_a_path_study_over_several_datasets_is_refused_and_says_why():
    raw = {"design": "path", "datasets": ["digits", "wine"]}
    with pytest.raises(ConfigError, match="each dataset would walk its own path.*one path study per dataset"):
        read_datasets(raw, options("dataset"), [], [])


def test_a_confirmed_screening_over_several_datasets_is_refused_and_says_why():
    raw = {"design": "fractional", "confirm": True, "datasets": ["digits", "wine"]}
    with pytest.raises(ConfigError, match="study.confirm=true is not supported: which factors screen in"):
        read_datasets(raw, options("dataset"), [], [])


def _report_folder(stdout: str, cwd: Path) -> Path:
    return (cwd / re.search(r"  report      (\S+)", stdout).group(1)).parent


@pytest.mark.slow
def test_a_seed_study_over_three_datasets_trains_every_arm_on_each_and_reports_across(tmp_path):
    write_conf(tmp_path)  # a user conf/ folder, as ablab_train passes --config-dir
    args = [
        "study=seed",
        f"study.datasets=[{','.join(DATASETS)}]",
        "study.seeds=[0,1]",
        "trainer.epochs=2",
        "model.hidden_units=[8]",
        "hydra/launcher=basic",
    ]
    first = ablab_train(tmp_path, *args)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "4 arms x 3 datasets x seeds = 24 runs, 0 already FINISHED, 24 to run" in first.stdout
    assert "24 finished, 0 skipped" in first.stdout
    assert re.search(r"^  wine: optimizer=adam: ", first.stdout, re.MULTILINE)  # verdicts per dataset

    client = client_for(tmp_path)
    (parent,), children = study_runs(client, "seed")
    assert {c.info.status for c in children} == {"FINISHED"} and len(children) == 24
    arms = {"baseline", "initializer=he_normal", "activation=relu", "optimizer=adam"}
    for dataset in DATASETS:
        mine = [c for c in children if c.data.tags[DATASET] == dataset]
        assert {c.data.tags[ARM] for c in mine} == arms and len(mine) == 8
        assert {c.data.tags["dataset"] for c in mine} == {dataset}  # the group choice the run trained on
        assert {c.data.tags[PARENT_RUN_ID] for c in mine} == {parent.info.run_id}
    plan = json.loads(
        Path(client.download_artifacts(parent.info.run_id, "plan.json", str(tmp_path))).read_text()
    )
    assert [job["dataset"] for job in plan] == [d for d in DATASETS for _ in range(8)]

    folder = _report_folder(first.stdout, tmp_path)
    files = {p.name for p in folder.iterdir()}
    assert {
        "report.md",
        "report.html",
        "table.csv",
        "across.csv",
        "table.tex",
        "results.txt",
        "cd_diagram.png",
    } <= files
    assert {f"{d}_effect.png" for d in DATASETS} <= files
    markdown = (folder / "report.md").read_text()
    assert "## Across datasets" in markdown and "### Critical-difference diagram" in markdown
    for dataset in DATASETS:
        assert f"## Ablation report: seed on {dataset.replace('_', chr(92) + '_')}" in markdown
    assert markdown.index("## Across datasets") < markdown.index("## Ablation report: seed on digits")
    html = (folder / "report.html").read_text()
    assert (
        html.count("<html") == 1
        and "<h2>Across datasets</h2>" in html
        and "<h2>Ablation report: seed on wine" in html
    )
    table = pd.read_csv(folder / "table.csv")
    assert table.groupby("dataset", sort=False)["arm"].count().to_dict() == dict.fromkeys(DATASETS, 4)
    across = pd.read_csv(folder / "across.csv").set_index("arm")
    compared = across.drop("baseline")
    assert (compared[["better", "equivalent", "worse", "inconclusive", "untested"]].sum(axis=1) == 3).all()
    assert across["mean_rank"].sum() == pytest.approx(1 + 2 + 3 + 4)  # 4 arms ranked on each dataset
    chances = compared[["p_worse", "p_equivalent", "p_better"]].sum(axis=1)
    assert chances.to_numpy() == pytest.approx([1.0, 1.0, 1.0])
    assert "Only 3 datasets" in markdown  # Friedman with so few datasets is said to be rough
    assert "as is (every dataset's score is a 0..1 fraction" in markdown
    words = (folder / "results.txt").read_text()
    assert words.startswith("On digits: ") and "Across the 3 datasets (vs baseline)" in words
    tex = (folder / "table.tex").read_text()
    assert all(f"seed on {d.replace('_', chr(92) + '_')}" in tex for d in DATASETS)

    # The run keys differ by dataset: a relaunch skips every FINISHED run of every dataset.
    again = ablab_train(tmp_path, *args, "hydra.sweeper.report=false")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "24 already FINISHED, 0 to run" in again.stdout and "0 finished, 24 skipped" in again.stdout


@pytest.mark.slow
def test_one_dataset_in_study_datasets_reports_no_across_section_and_says_why(tmp_path):
    write_conf(tmp_path)
    result = ablab_train(
        tmp_path, "study=tiny", "+study.datasets=[wine]", "study.seeds=[0,1]", "hydra/launcher=basic"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    markdown = (_report_folder(result.stdout, tmp_path) / "report.md").read_text()
    assert "One dataset (wine): there is no across-datasets comparison; list at least 2" in markdown
    assert "### Verdicts and mean ranks" not in markdown and "## Ablation report: tiny on wine" in markdown
