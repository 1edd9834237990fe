"""A fractional screening's report on a synthetic store with known effects: the effects against a
least-squares fit written out here (numpy), the aliases against products of the design's columns,
the confirmation round against a paired t-test by hand. The design is the textbook 2^(6-2) IV
(E = ABC, F = BCD), not pyDOE's, so the report is checked on a fraction it did not plan."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from scipy.stats import t as student_t

from ablab.report import make_report
from ablab.study.confirm import confirmation_round
from ablab.study.spec import StudySpec
from ablab.tracking.tags import CONFIRM
from test_report_synthetic import Job, StudyWriter, new_store

FACTORS = {  # key -> (baseline option, alternative), letters a..f in this order
    "initializer": ("random_uniform", "he_normal"),
    "activation": ("sigmoid", "relu"),
    "optimizer": ("sgd", "adam"),
    "normalization": ("none", "batchnorm"),
    "regularization": ("none", "dropout"),
    "ensemble": ("none", "soft_vote"),
}
KEYS = list(FACTORS)
SEEDS = [0, 1, 2]
SEED_SHIFT = {0: 0.0, 1: 0.012, 2: -0.007}


def textbook_design() -> np.ndarray:
    base = np.array(list(itertools.product([-1, 1], repeat=4)))
    e = base[:, 0] * base[:, 1] * base[:, 2]
    f = base[:, 1] * base[:, 2] * base[:, 3]
    return np.column_stack([base, e, f])


DESIGN = textbook_design()


def arm_name(row) -> str:
    return (
        ",".join(f"{k}={FACTORS[k][1]}" for k, level in zip(KEYS, row, strict=True) if level > 0)
        or "baseline"
    )


def changes(row) -> dict:
    return {k: list(FACTORS[k]) for k, level in zip(KEYS, row, strict=True) if level > 0}


def true_value(row, seed: int, noise: float, size: float = 1.0) -> float:
    """+10 pp for the initializer, -6 pp for the optimizer, +4 pp for initializer x activation
    (x ``size``: 0 leaves seed noise only)."""
    a, b, c = row[0], row[1], row[2]
    return 0.6 + 0.5 * size * (0.10 * a - 0.06 * c + 0.04 * a * b) + SEED_SHIFT[seed] + noise


def write_store(tmp_path: Path, confirm: bool = False, size: float = 1.0) -> tuple[str, pd.DataFrame]:
    uri = new_store(tmp_path)
    writer = StudyWriter(uri, "screen", tmp_path / "artifacts", design="fractional")
    rng = np.random.default_rng(7)
    rows = []
    for row in DESIGN:
        for seed in SEEDS:
            rows.append(
                {
                    "arm": arm_name(row),
                    "seed": seed,
                    "value": true_value(row, seed, rng.normal(0, 0.01), size),
                }
            )
    values = pd.DataFrame(rows)
    jobs = [Job(arm_name(row), seed, changes(row)) for row in DESIGN for seed in SEEDS]
    tags = {}
    confirm_values = {}
    if confirm:
        single = np.array([1, -1, -1, -1, -1, -1])
        jobs += [Job("initializer=he_normal", seed, changes(single)) for seed in SEEDS]
        confirm_values = {seed: true_value(single, seed, rng.normal(0, 0.01)) for seed in SEEDS}
        record = {
            "factors": ["initializer"],
            "arms": ["initializer=he_normal"],
            "added": ["initializer=he_normal"],
        }
        tags[CONFIRM] = json.dumps(record)
    parent = writer.launch(jobs, tags=tags)
    lookup = values.set_index(["arm", "seed"])["value"]
    for job in jobs:
        value = (
            confirm_values[job.seed] if job.arm == "initializer=he_normal" else lookup[(job.arm, job.seed)]
        )
        writer.child(parent, job, {"test_accuracy": value, "test_loss": 1 - value})
    return uri, values.assign(confirm=pd.Series(dtype=float)) if not confirm else values.assign(
        confirm=values["seed"].map(confirm_values)
    )


def estimable_pairs() -> list[tuple[int, int]]:
    """One two-factor interaction per group of pairs with the same product column (the first)."""
    groups: dict[tuple, list[tuple[int, int]]] = {}
    for pair in itertools.combinations(range(6), 2):
        groups.setdefault(tuple(DESIGN[:, pair[0]] * DESIGN[:, pair[1]]), []).append(pair)
    return [pairs[0] for pairs in groups.values()]


def hand_fit(values: pd.DataFrame):
    """OLS by numpy: intercept, seed dummies, the 6 mains, one column per interaction chain."""
    pairs = estimable_pairs()
    index = {arm_name(row): row for row in DESIGN}
    x_rows, y = [], []
    for _, run in values.iterrows():
        row = index[run["arm"]]
        seeds = [1.0 if run["seed"] == s else 0.0 for s in SEEDS[1:]]
        x_rows.append([1.0, *seeds, *row, *(row[i] * row[j] for i, j in pairs)])
        y.append(run["value"])
    x, y = np.array(x_rows, float), np.array(y)
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    df = len(y) - x.shape[1]
    sigma2 = np.sum((y - x @ beta) ** 2) / df
    se = np.sqrt(np.diag(np.linalg.inv(x.T @ x)) * sigma2)
    first = 1 + len(SEEDS) - 1
    names = KEYS + [f"{KEYS[i]} × {KEYS[j]}" for i, j in pairs]
    return names, beta[first:], se[first:], df


def holm(p: np.ndarray) -> np.ndarray:
    order = np.argsort(p)
    adjusted = np.empty_like(p)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, (len(p) - rank) * p[index])
        adjusted[index] = min(1.0, running)
    return adjusted


def test_effects_are_twice_the_least_squares_coefficients_with_holm_across_them(tmp_path: Path) -> None:
    uri, values = write_store(tmp_path)
    folder = make_report(uri, out_root=tmp_path / "reports", log_to_mlflow=False)
    effects = pd.read_csv(folder / "effects.csv").set_index("term")
    names, beta, se, df = hand_fit(values)
    assert sorted(effects.index) == sorted(names) and len(names) == 6 + 7
    t = beta / se
    p = 2 * student_t.sf(np.abs(t), df)
    half_width = student_t.ppf(0.975, df) * se
    for name, b, h, p_value, p_holm in zip(names, beta, half_width, p, holm(p), strict=True):
        row = effects.loc[name]
        assert row["delta"] == pytest.approx(200 * b)  # high - low, in pp
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((200 * (b - h), 200 * (b + h)))
        assert row["p_value"] == pytest.approx(p_value)
        assert row["p_holm"] == pytest.approx(p_holm)
    # The known effects are found; a factor without an effect does not screen in.
    assert effects.loc["initializer", "verdict"] == "better"
    assert effects.loc["initializer", "delta"] == pytest.approx(10, abs=1.5)
    assert effects.loc["optimizer", "verdict"] == "worse"
    assert effects.loc["normalization", "verdict"] == "inconclusive"
    assert effects.loc["initializer × activation", "verdict"] == "interacts"
    # At resolution IV the interaction is carried with its alias chain: AB = CE.
    assert effects.loc["initializer × activation", "aliases"] == "optimizer × regularization"
    assert set(effects.loc[KEYS, "kind"]) == {"main effect"}


def test_the_alias_table_is_the_products_of_the_design_columns(tmp_path: Path) -> None:
    uri, _ = write_store(tmp_path)
    folder = make_report(uri, out_root=tmp_path / "reports", log_to_mlflow=False)
    aliases = pd.read_csv(folder / "aliases.csv")
    # The defining relation by hand: E = ABC and F = BCD give I = ABCE = BCDF, and their product ADEF.
    assert aliases.loc[0, "letters"] == "I = abce = adef = bcdf"
    chains = [text.split(" = ") for text in aliases["letters"].iloc[1:]]
    assert len(chains) == 15  # 2^4 - 1 contrasts besides the mean
    columns = []
    for chain in chains:
        products = {tuple(np.prod(DESIGN[:, ["abcdef".index(c) for c in term]], axis=1)) for term in chain}
        first = np.array(next(iter(products)))
        assert all(
            np.array_equal(np.array(p), first) or np.array_equal(np.array(p), -first) for p in products
        )
        columns.append(tuple(first * first[0]))  # the chain's column, up to sign
    assert len(set(columns)) == 15  # every chain is a different contrast
    every = {term for chain in chains for term in chain}
    assert len(every) == 2**6 - 1 - 3  # every effect in exactly one chain, the 3 defining words aside
    markdown = (folder / "report.md").read_text()
    assert "## Screening: effects" in markdown and "## Aliases" in markdown
    assert "Resolution IV: main effects are clear of two-factor interactions" in markdown
    assert (folder / "main_effects.png").stat().st_size > 0
    assert "resolution IV screening" in (folder / "results.txt").read_text()
    assert "\\begin{tabular}" in (folder / "table.tex").read_text()


def test_the_confirmation_round_is_an_ofat_comparison_left_out_of_the_screening(tmp_path: Path) -> None:
    uri, values = write_store(tmp_path, confirm=True)
    folder = make_report(uri, out_root=tmp_path / "reports", log_to_mlflow=False)
    confirmation = pd.read_csv(folder / "confirmation.csv").set_index("arm")
    assert list(confirmation.index) == ["baseline", "initializer=he_normal"]
    baseline = values[values["arm"] == "baseline"].sort_values("seed")["value"].to_numpy()
    single = values.drop_duplicates("seed").sort_values("seed")["confirm"].to_numpy()
    d = single - baseline
    t = d.mean() / (d.std(ddof=1) / math.sqrt(len(d)))
    row = confirmation.loc["initializer=he_normal"]
    assert row["delta"] == pytest.approx(100 * d.mean())
    assert row["p_value"] == pytest.approx(2 * student_t.sf(abs(t), len(d) - 1))
    assert row["p_holm"] == pytest.approx(row["p_value"])  # one comparison in this table
    # The screening reads the design's 16 arms only: the same effects as without the round.
    effects = pd.read_csv(folder / "effects.csv").set_index("term")
    names, beta, _, _ = hand_fit(values)
    assert effects.loc[names, "delta"].to_numpy() == pytest.approx(200 * beta)
    assert "## Confirmation (ofat)" in (folder / "report.md").read_text()


def test_when_no_factor_screens_in_the_launch_says_so_and_runs_no_round(tmp_path: Path, capsys) -> None:
    uri, _ = write_store(tmp_path, size=0.0)
    client = MlflowClient(uri)
    parent = client.search_runs(
        [client.get_experiment_by_name("screen").experiment_id], "tags.`ablab.role` = 'study'"
    )[0]
    spec = StudySpec(
        name="screen",
        design="fractional",
        seeds=SEEDS,
        baseline={key: options[0] for key, options in FACTORS.items()},
        factors={key: [options[1]] for key, options in FACTORS.items()},
        groups=frozenset(FACTORS),
        rerun=False,
        confirm=True,
    )

    def no_round(*_: object) -> list:
        raise AssertionError("no round may be planned when nothing screened in")

    assert confirmation_round(client, spec, parent.info.run_id, 1, no_round) == []
    assert "Confirmation: no factor screened in" in capsys.readouterr().out
    assert json.loads(client.get_run(parent.info.run_id).data.tags[CONFIRM])["factors"] == []
    folder = make_report(uri, out_root=tmp_path / "reports", log_to_mlflow=False)
    assert not (folder / "confirmation.csv").exists()
    assert "No factor screened in" in (folder / "report.md").read_text()
