"""Design-aware reports on synthetic stores: a ladder's step-by-step table, a factorial's ANOVA, the
study's own metric/direction/margin; every number checked by a hand computation written out here."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import t as student_t

from ablab.report import make_report
from ablab.stats.sequential import SeedSchedule, nominal_levels
from ablab.tracking.tags import DIRECTION, MARGIN, METRIC, SEED_SCHEDULE
from test_report_synthetic import Job, StudyWriter, new_store

LADDER = {  # seed -> value per step; each step keeps the ones before it
    "baseline": [0.20, 0.22, 0.25, 0.21],
    "+initializer=he_normal": [0.41, 0.43, 0.40, 0.44],
    "+activation=relu": [0.91, 0.93, 0.92, 0.90],
    "+optimizer=adam": [0.915, 0.925, 0.93, 0.905],
}
LADDER_CHANGES = {
    "baseline": {},
    "+initializer=he_normal": {"initializer": ["random_uniform", "he_normal"]},
    "+activation=relu": {"initializer": ["random_uniform", "he_normal"], "activation": ["sigmoid", "relu"]},
    "+optimizer=adam": {
        "initializer": ["random_uniform", "he_normal"],
        "activation": ["sigmoid", "relu"],
        "optimizer": ["sgd", "adam"],
    },
}


def _write(tmp_path: Path, name: str, design: str, values: dict, changes: dict, **launch) -> str:
    uri = new_store(tmp_path)
    writer = StudyWriter(uri, name, tmp_path / "artifacts", design=design)
    jobs = [Job(arm, seed, changes[arm]) for arm in values for seed in range(len(values[arm]))]
    parent = writer.launch(jobs, **launch)
    for job in jobs:
        value = values[job.arm][job.seed]
        writer.child(parent, job, {"test_accuracy": value, "test_loss": 2.0 - 2 * value})
    return uri


def _paired(a: list[float], b: list[float]) -> tuple[float, float]:
    """Δ and two-sided p of a paired t-test, from the formula."""
    d = np.array(a) - np.array(b)
    t = d.mean() / (d.std(ddof=1) / math.sqrt(len(d)))
    return d.mean(), 2 * student_t.sf(abs(t), len(d) - 1)


def test_ladder_compares_each_step_with_the_previous_one_and_with_the_baseline(tmp_path: Path) -> None:
    uri = _write(tmp_path, "series", "ladder", LADDER, LADDER_CHANGES)
    folder = make_report(uri, out_root=tmp_path / "reports", log_to_mlflow=False)
    steps = pd.read_csv(folder / "table.csv").set_index("arm")
    arms = list(LADDER)
    assert list(steps["compared_with"].fillna("")) == ["", *arms[:-1]]
    assert steps.loc["+activation=relu", "changed"] == "activation: sigmoid → relu"  # only the step's own
    for previous, arm in zip(arms, arms[1:], strict=False):
        delta, p = _paired(LADDER[arm], LADDER[previous])
        assert steps.loc[arm, "delta"] == pytest.approx(100 * delta)
        assert steps.loc[arm, "p_value"] == pytest.approx(p)
    # adam after relu: +0.25 pp on average, p well above 0.05 -> not "better" over the previous step.
    assert steps.loc["+optimizer=adam", "verdict"] in ("inconclusive", "equivalent")
    assert steps.loc["+activation=relu", "verdict"] == "better"

    cumulative = pd.read_csv(folder / "table_vs_baseline.csv").set_index("arm")
    assert set(cumulative["compared_with"].dropna()) == {"baseline"}
    assert cumulative.loc["+activation=relu", "changed"].count("→") == 2
    delta, p = _paired(LADDER["+optimizer=adam"], LADDER["baseline"])
    assert cumulative.loc["+optimizer=adam", "delta"] == pytest.approx(100 * delta)
    assert cumulative.loc["+optimizer=adam", "p_value"] == pytest.approx(p)

    markdown = (folder / "report.md").read_text()
    assert "Δ vs previous step (pp) \\[95% CI\\]" in markdown
    assert "## Each step vs baseline" in markdown and "## Comparison details" in markdown
    assert (folder / "path.png").stat().st_size > 0


FACTORIAL_CHANGES = {
    "baseline": {},
    "activation=relu": {"activation": ["sigmoid", "relu"]},
    "optimizer=adam": {"optimizer": ["sgd", "adam"]},
    "activation=relu,optimizer=adam": {"activation": ["sigmoid", "relu"], "optimizer": ["sgd", "adam"]},
}
FACTORIAL = {  # relu and adam each help, and together more than the sum: an interaction
    "baseline": [0.20, 0.25, 0.22, 0.24, 0.21],
    "activation=relu": [0.50, 0.56, 0.55, 0.52, 0.50],
    "optimizer=adam": [0.40, 0.46, 0.41, 0.45, 0.44],
    "activation=relu,optimizer=adam": [0.95, 0.96, 0.94, 0.97, 0.93],
}


def test_factorial_main_effects_and_interaction_equal_squared_contrast_t_tests(tmp_path: Path) -> None:
    uri = _write(tmp_path, "grid", "factorial", FACTORIAL, FACTORIAL_CHANGES)
    folder = make_report(uri, out_root=tmp_path / "reports", log_to_mlflow=False)
    anova = pd.read_csv(folder / "anova.csv").set_index("effect")
    assert list(anova.index) == ["activation", "optimizer", "activation × optimizer"]
    # With 2 levels per factor and seeds as blocks, each F is the square of a one-sample t-test
    # on a per-seed contrast, with df (1, seeds - 1).
    base, relu, adam, both = (np.array(v) for v in FACTORIAL.values())
    contrasts = {
        "activation": (relu + both - base - adam) / 2,
        "optimizer": (adam + both - base - relu) / 2,
        "activation × optimizer": both - relu - adam + base,
    }
    for effect, c in contrasts.items():
        t = c.mean() / (c.std(ddof=1) / math.sqrt(len(c)))
        assert anova.loc[effect, "f_value"] == pytest.approx(t**2)
        assert anova.loc[effect, "p_value"] == pytest.approx(2 * student_t.sf(abs(t), len(c) - 1))
        assert (anova.loc[effect, "df_effect"], anova.loc[effect, "df_error"]) == (1, 4)
        f = t**2
        assert anova.loc[effect, "partial_eta_sq"] == pytest.approx(f / (f + 4))
    assert anova.loc["activation × optimizer", "p_value"] < 0.05
    cells = pd.read_csv(folder / "cell_means.csv").set_index("arm")
    assert cells.loc["activation=relu,optimizer=adam", "mean"] == pytest.approx(both.mean())
    markdown = (folder / "report.md").read_text()
    assert "## Main effects and interactions" in markdown and "## Cell means" in markdown
    assert (folder / "interactions.png").stat().st_size > 0


def test_the_study_metric_direction_and_margin_come_from_the_parent_run(tmp_path: Path) -> None:
    values = {  # test_loss = 2 - 2 * accuracy: lower is better
        "baseline": [0.500, 0.510, 0.505, 0.502, 0.508, 0.503],
        "faster": [0.5005, 0.5102, 0.5048, 0.5021, 0.5083, 0.5029],
        "better": [0.550, 0.562, 0.554, 0.551, 0.560, 0.555],
    }
    changes = {"baseline": {}, "faster": {"trainer.epochs": ["10", "5"]}, "better": {"model": ["a", "b"]}}
    tags = {METRIC: "test_loss", DIRECTION: "minimize", MARGIN: "0.02"}
    uri = _write(tmp_path, "loss", "ofat", values, changes, tags=tags)
    folder = make_report(uri, out_root=tmp_path / "reports", log_to_mlflow=False)
    table = pd.read_csv(folder / "table.csv").set_index("arm")
    assert set(table["metric"]) == {"test_loss"} and set(table["margin"]) == {0.02}
    assert table.loc["better", "delta"] < 0 and table.loc["better", "verdict"] == "better"
    assert table.loc["better", "p_improvement"] == pytest.approx(1.0)  # every run has a lower loss
    assert table.loc["faster", "verdict"] == "equivalent"
    # An explicit margin beats the recorded one: ±0.0001 is too tight to show equivalence.
    tight = make_report(uri, out_root=tmp_path / "tight", margin=0.0001, log_to_mlflow=False)
    assert pd.read_csv(tight / "table.csv").set_index("arm").loc["faster", "verdict"] == "inconclusive"


def test_an_adaptive_study_reports_seeds_per_arm_and_why_each_stopped(tmp_path: Path) -> None:
    schedule = SeedSchedule(start=3, step=2, max=7)
    values = {
        "baseline": [0.50, 0.52, 0.51, 0.49, 0.53, 0.50, 0.52],
        "big": [0.80, 0.83, 0.80],  # +0.30, +0.31, +0.29: decided at the first look
        "noisy": [0.55, 0.45, 0.58, 0.44, 0.56, 0.47, 0.55],  # never decided: runs to the maximum
    }
    changes = {"baseline": {}, "big": {"activation": ["sigmoid", "relu"]}, "noisy": {"model": ["a", "b"]}}
    tags = {SEED_SCHEDULE: json.dumps(asdict(schedule))}
    uri = _write(tmp_path, "adaptive", "ofat", values, changes, tags=tags)
    folder = make_report(uri, out_root=tmp_path / "reports", log_to_mlflow=False)
    table = pd.read_csv(folder / "table.csv").set_index("arm")
    assert table.loc["big", "verdict"] == "better" and table.loc["noisy", "verdict"] == "inconclusive"
    # The first look by hand: paired t-test on 3 seeds, against the boundary at alpha / 2 arms.
    _, p_first = _paired(values["big"], values["baseline"][:3])
    assert p_first < nominal_levels((3, 5, 7), 0.05 / 2, "pocock")[0]
    markdown = (folder / "report.md").read_text()
    assert "## Adaptive seeds: seeds per arm and why each arm stopped" in markdown
    assert "| big | 3 | better | t-test crossed the boundary at 3 seeds" in markdown
    assert "| noisy | 7 | inconclusive | reached the maximum of 7 seeds undecided |" in markdown
