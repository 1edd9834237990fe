"""A plain Hydra multirun (no study sweeper) read as a study launch, so the same report applies.

``ablab-train -m activation=relu,sigmoid trainer.seed=0,1,2`` logs one run per combination to one
experiment, each tagged with its overrides (``hydra_overrides``) and its command's launch id
(``ablab.launch``). One multirun is read: the latest by default (an experiment often holds single
runs and earlier sweeps too), another by ``sweep_id``, or all plain runs with ``"all"``. The keys
whose values differ between its runs are the swept keys; ``trainer.seed`` makes replicates;
every other combination of swept values is an arm. The reference arm is chosen on the command
line.
"""

from __future__ import annotations

import pandas as pd
from mlflow.tracking import MlflowClient

from ablab.errors import StudyNotFound
from ablab.report.launch_record import PLAN_COLUMNS, Launch
from ablab.report.read import runs_frame, search_all_runs
from ablab.tracking.tags import ARM, HYDRA_OVERRIDES, LAUNCH, ROLE, tag_column

SEED_KEY = "trainer.seed"
FINISHED = "FINISHED"


def parse_overrides(text: str) -> dict[str, str]:
    """``"activation=relu trainer.seed=1"`` -> {"activation": "relu", "trainer.seed": "1"}."""
    pairs = (item.split("=", 1) for item in str(text or "").split() if "=" in item)
    return {key.lstrip("+~"): value for key, value in pairs}


def load_sweep(
    client: MlflowClient, experiment_name: str, reference: str | None = None, sweep_id: str | None = None
) -> Launch:
    """One multirun's plain runs (no study tags) of ``experiment_name`` as a Launch: one arm per
    combination of the swept keys, seeds as replicates, the newest FINISHED run per (arm, seed)."""
    experiment = client.get_experiment_by_name(experiment_name)
    if experiment is None:
        raise StudyNotFound(f"no experiment named {experiment_name!r} in {client.tracking_uri}.")
    runs = runs_frame(search_all_runs(client, [experiment.experiment_id]))
    every = _plain_runs(runs)
    if every.empty:
        raise StudyNotFound(
            f"experiment {experiment_name!r} has no plain runs with {HYDRA_OVERRIDES} tags (study runs are "
            "reported by study name instead)."
        )
    sweeps = multiruns(every)
    chosen = _chosen_sweep(sweeps, experiment_name, sweep_id)
    plain = every if chosen == ALL else every[_launch_ids(every) == chosen]
    overrides = plain[tag_column(HYDRA_OVERRIDES)].map(parse_overrides)
    keys = sorted({key for o in overrides for key in o})
    swept = [key for key in keys if key != SEED_KEY and len({o.get(key) for o in overrides}) > 1]
    plain = plain.assign(
        arm=overrides.map(lambda o: ",".join(f"{k}={o.get(k, '?')}" for k in swept) or "all runs"),
        seed=overrides.map(lambda o: int(o.get(SEED_KEY, 0))),
        changed=overrides.map(lambda o: {k: o.get(k, "?") for k in swept}),
        run_key=plain["run_id"],
        dataset="",
    )
    arms = list(dict.fromkeys(plain.sort_values("start_time")["arm"]))
    if reference is not None and reference not in arms:
        raise StudyNotFound(
            f"--reference {reference!r} is not an arm of {_sweep_text(chosen, sweeps)} in experiment "
            f"{experiment_name!r}; its arms: {', '.join(arms)}. {_choosing_text(sweeps)}"
        )
    reference = reference or arms[0]
    arms = [reference] + [arm for arm in arms if arm != reference]
    newest = plain.sort_values("start_time", ascending=False, kind="stable")
    finished = newest[newest["status"] == FINISHED].drop_duplicates(["arm", "seed"])
    finished = finished.assign(reference=finished["arm"] == reference)
    plan = finished[PLAN_COLUMNS].reset_index(drop=True)
    notes = [
        f"A plain Hydra multirun, read from experiment {experiment_name!r}: {_sweep_text(chosen, sweeps)}; "
        f"swept keys {', '.join(swept) or '(none)'}; {SEED_KEY} values are replicates; the newest FINISHED "
        "run per arm and seed counts. Runs that did not finish are left out (a plain sweep records no plan)."
    ]
    if len(sweeps) > 1 and chosen != ALL:
        notes.append(f"The experiment holds {len(sweeps)} launches of plain runs. {_choosing_text(sweeps)}")
    return Launch(
        parent_run_id=f"(plain sweep {chosen})",
        study=experiment_name,
        experiment_name=experiment_name,
        design="sweep",
        reference_arm=reference,
        start_time=pd.Timestamp(int(plain["start_time"].min()), unit="ms"),
        plan=plan,
        finished=finished.reset_index(drop=True),
        unfinished=pd.DataFrame(columns=[*PLAN_COLUMNS, "status", "diverged", "run_id", "error", "attempts"]),
        arms=arms,
        notes=notes,
    )


def _plain_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs with overrides that are neither a study's job (ablab.arm) nor its parent (ablab.role)."""
    if runs.empty or tag_column(HYDRA_OVERRIDES) not in runs:
        return runs.iloc[0:0]
    keep = runs[tag_column(HYDRA_OVERRIDES)].notna()
    for tag in (ARM, ROLE):
        if tag_column(tag) in runs:
            keep &= runs[tag_column(tag)].isna()
    return runs[keep]


ALL = "all"  # sweep_id: every plain run of the experiment, whichever command logged it
UNTAGGED = "untagged"  # runs logged before ablab tagged each command's launch


def _launch_ids(plain: pd.DataFrame) -> pd.Series:
    column = tag_column(LAUNCH)
    return plain[column].fillna(UNTAGGED) if column in plain else pd.Series(UNTAGGED, index=plain.index)


def multiruns(plain: pd.DataFrame) -> pd.DataFrame:
    """One row per launch of plain runs, newest first: id, runs, started (ms)."""
    grouped = plain.assign(launch=_launch_ids(plain)).groupby("launch")["start_time"]
    table = pd.DataFrame({"runs": grouped.size(), "started": grouped.min()}).reset_index(names="id")
    return table.sort_values("started", ascending=False, kind="stable").reset_index(drop=True)


def _chosen_sweep(sweeps: pd.DataFrame, experiment_name: str, sweep_id: str | None) -> str:
    """The launch id to read: the newest launch of several runs (a multirun) by default."""
    if sweep_id == ALL:
        return ALL
    if sweep_id is None:
        several = sweeps[sweeps["runs"] > 1]
        return str((several if not several.empty else sweeps)["id"].iloc[0])
    matches = sweeps[sweeps["id"].str.startswith(sweep_id)]
    if len(matches) != 1:
        found = "matches none" if matches.empty else f"matches {len(matches)}"
        raise StudyNotFound(
            f"--sweep-id {sweep_id!r} {found} of the launches of plain runs in experiment "
            f"{experiment_name!r}. {_choosing_text(sweeps)}"
        )
    return str(matches["id"].iloc[0])


def _sweep_text(chosen: str, sweeps: pd.DataFrame) -> str:
    if chosen == ALL:
        return f"all {int(sweeps['runs'].sum())} plain runs of its {len(sweeps)} launch(es)"
    row = sweeps[sweeps["id"] == chosen].iloc[0]
    return f"multirun {chosen[:12]} ({int(row['runs'])} runs, started {_when(row['started'])})"


def _choosing_text(sweeps: pd.DataFrame) -> str:
    """How to pick another launch: the ids (a prefix is enough) with their size and start."""
    listed = "; ".join(
        f"{row.id[:12]} ({int(row.runs)} run{'s' if row.runs > 1 else ''}, {_when(row.started)})"
        for row in sweeps.head(8).itertuples()
    )
    more = f"; and {len(sweeps) - 8} older" if len(sweeps) > 8 else ""
    return (
        f"Pick one with --sweep-id ID (the latest multirun is the default; launches, newest first: "
        f"{listed}{more}), or --sweep-id all to read every plain run together."
    )


def _when(started_ms: float) -> str:
    return pd.Timestamp(int(started_ms), unit="ms").strftime("%Y-%m-%d %H:%M:%S")
