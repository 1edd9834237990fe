"""An ablation path's report on synthetic stores: the path, its runner-ups and the runs spent, every
number checked against scipy's paired t-test and statsmodels' Holm; and study.target's refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from scipy import stats
from statsmodels.stats.multitest import multipletests

from ablab.errors import ConfigError
from ablab.report import make_report
from ablab.report.path_replay import path_tag
from ablab.study.path import first_arms, path_plan
from ablab.study.spec import read_study
from conftest import CONF_DIR
from test_report_synthetic import Job, StudyWriter, new_store
from test_series_study import group_options

SOURCE = {"activation": "sigmoid", "optimizer": "sgd", "initializer": "random_uniform"}
TARGET = {"activation": "relu", "optimizer": "adam", "initializer": "he_normal"}
KEYS = list(TARGET)
SEEDS = [0, 1, 2, 3]
NOISE = np.random.default_rng(11).normal(0, 0.004, (8, len(SEEDS)))


def _name(flipped: frozenset[str]) -> str:
    return ",".join(f"{key}={TARGET[key]}" for key in KEYS if key in flipped) or "baseline"


def _value(flipped: frozenset[str], seed: int) -> float:
    """relu helps most; adam helps more with relu than alone; he_normal a little."""
    base = 0.3 + 0.4 * ("activation" in flipped) + 0.05 * ("optimizer" in flipped)
    base += 0.1 * ({"activation", "optimizer"} <= flipped) + 0.01 * ("initializer" in flipped)
    return base + NOISE[sum(1 << KEYS.index(k) for k in flipped), seed]


CONFIGS = [frozenset(), *(frozenset({k}) for k in KEYS)]
CONFIGS += [frozenset({"activation", k}) for k in ("optimizer", "initializer")]
CONFIGS += [frozenset(KEYS)]


def _write(tmp_path: Path, configs: list[frozenset[str]]) -> str:
    uri = new_store(tmp_path)
    writer = StudyWriter(uri, "seed_path", tmp_path / "artifacts", design="path")
    jobs = [
        Job(_name(c), seed, {key: [SOURCE[key], TARGET[key]] for key in KEYS if key in c})
        for c in configs
        for seed in SEEDS
    ]
    parent = writer.launch(jobs, tags={"ablab.path": path_tag(KEYS, TARGET, SEEDS)})
    for job, config in zip(jobs, [c for c in configs for _ in SEEDS], strict=True):
        writer.child(parent, job, {"test_accuracy": _value(config, job.seed), "test_loss": 1.0})
    return uri


def _values(flipped: frozenset[str]) -> np.ndarray:
    return np.array([_value(flipped, seed) for seed in SEEDS])


def test_the_path_table_takes_each_steps_best_and_compares_it_with_the_step_before(tmp_path: Path) -> None:
    folder = make_report(_write(tmp_path, CONFIGS), out_root=tmp_path / "reports", log_to_mlflow=False)
    path = pd.read_csv(folder / "path_steps.csv")
    assert list(path["flip"]) == ["activation=relu", "optimizer=adam", "initializer=he_normal"]
    chain = [frozenset(), frozenset({"activation"}), frozenset({"activation", "optimizer"}), frozenset(KEYS)]
    expected_p = []
    for (_, row), previous, current in zip(path.iterrows(), chain[:-1], chain[1:], strict=True):
        a, b = _values(current), _values(previous)
        assert row["arm"] == _name(current) and row["compared_with"] == _name(previous)
        assert row["delta"] == pytest.approx(100 * (a - b).mean())
        assert row["p_value"] == pytest.approx(stats.ttest_rel(a, b).pvalue)
        expected_p.append(stats.ttest_rel(a, b).pvalue)
    assert list(path["p_holm"]) == pytest.approx(list(multipletests(expected_p, method="holm")[1]))
    assert list(path["candidates"]) == [3, 2, 1]

    runner_ups = pd.read_csv(folder / "path_runner_ups.csv").set_index("arm")
    expected = {  # runner-up -> the step's choice it is compared with
        "optimizer=adam": "activation=relu",
        "initializer=he_normal": "activation=relu",
        "activation=relu,initializer=he_normal": "activation=relu,optimizer=adam",
    }
    assert dict(runner_ups["compared_with"]) == expected
    p_values = []
    for arm, choice in expected.items():
        ours = next(c for c in CONFIGS if _name(c) == arm)
        theirs = next(c for c in CONFIGS if _name(c) == choice)
        a, b = _values(ours), _values(theirs)
        assert runner_ups.loc[arm, "delta"] == pytest.approx(100 * (a - b).mean())
        p_values.append(stats.ttest_rel(a, b).pvalue)
    assert list(runner_ups["p_holm"]) == pytest.approx(list(multipletests(p_values, method="holm")[1]))
    # One look at 4 seeds: a 0.35-0.4 gap with 0.004 noise is decided worse, at that only look.
    assert runner_ups["dropped"].all() and not runner_ups["dropped_early"].any()
    assert set(runner_ups["race"]) == {"decided worse at 4 seeds"}

    markdown = (folder / "report.md").read_text()
    assert "## Ablation path" in markdown and "## Runner-ups at each step" in markdown
    assert "Runs spent: 28 planned, 28 finished; a path over 3 flips runs at most 28" in markdown
    assert "2^3 configurations: 32 runs" in markdown
    assert (folder / "path.png").stat().st_size > 0
    assert "Runner-ups at each step" in (folder / "report.html").read_text()
    assert (folder / "table.tex").read_text().count("\\midrule") >= 1
    assert "Each step compared with the step before it" in (folder / "results.txt").read_text()
    table = pd.read_csv(folder / "table.csv")
    assert list(table["arm"]) == ["baseline", *path["arm"]]  # the main table is the path


def test_a_path_whose_runs_stop_midway_says_where_it_stopped(tmp_path: Path) -> None:
    folder = make_report(_write(tmp_path, CONFIGS[:4]), out_root=tmp_path / "reports", log_to_mlflow=False)
    assert list(pd.read_csv(folder / "path_steps.csv")["flip"]) == ["activation=relu"]
    assert "The path stopped at step 2 of 3" in (folder / "report.md").read_text()


def _spec(*overrides: str):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        config = compose(
            config_name="train",
            overrides=["study=seed", "study.design=path", *overrides],
            return_hydra_config=True,
        )
    return read_study(config, group_options, [])


def test_the_default_target_is_every_factors_first_alternative_and_the_plan_counts_runs() -> None:
    spec = _spec()
    assert spec.target == {"initializer": "he_normal", "activation": "relu", "optimizer": "adam"}
    assert [arm.name for arm in first_arms(spec)] == [
        "baseline",
        "initializer=he_normal",
        "activation=relu",
        "optimizer=adam",
    ]
    text = path_plan(spec)
    assert "candidates per step: 3, 2, 1" in text
    assert (
        "At most 21 runs (7 configurations x 3 seeds)" in text and "2^3 = 8 configurations: 24 runs" in text
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["+study.target={initializer: random_uniform, activation: sigmoid, optimizer: sgd}"],
            "equals the source",
        ),
        (["+study.target={activation: sigmoid}"], r"sets \['activation'\] to the baseline's own value"),
        (["+study.target={trainer.epochs: 5}"], r"names \['trainer.epochs'\], which are not study keys"),
        (["+study.target={activation: swishy}"], "study.target.activation='swishy' is not an option"),
        (["study.design=ofat", "+study.target={activation: relu}"], "only read by study.design=path"),
        (["study.factors.activation=[]"], "study.factors.activation is an empty list"),
    ],
)
def test_bad_targets_are_refused_before_anything_trains(overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _spec(*overrides)
