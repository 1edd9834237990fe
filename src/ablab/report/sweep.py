"""A plain Hydra multirun (no study sweeper) read as a study launch, so the same report applies.

``ablab-train -m activation=relu,sigmoid trainer.seed=0,1,2`` logs one run per combination to one
experiment, each tagged with its overrides (``hydra_overrides``). Here the keys whose values
differ between runs are the swept keys; ``trainer.seed`` makes replicates; every other
combination of swept values is an arm. The reference arm is chosen on the command line.
"""

from __future__ import annotations

import pandas as pd
from mlflow.tracking import MlflowClient

from ablab.errors import StudyNotFound
from ablab.report.launch_record import PLAN_COLUMNS, Launch
from ablab.report.read import runs_frame, search_all_runs
from ablab.tracking.tags import ARM, HYDRA_OVERRIDES, ROLE, tag_column

SEED_KEY = "trainer.seed"
FINISHED = "FINISHED"


def parse_overrides(text: str) -> dict[str, str]:
    """``"activation=relu trainer.seed=1"`` -> {"activation": "relu", "trainer.seed": "1"}."""
    pairs = (item.split("=", 1) for item in str(text or "").split() if "=" in item)
    return {key.lstrip("+~"): value for key, value in pairs}


def load_sweep(client: MlflowClient, experiment_name: str, reference: str | None = None) -> Launch:
    """The plain runs (no study tags) of ``experiment_name`` as a Launch: one arm per combination
    of the swept keys, seeds as replicates, the newest FINISHED run per (arm, seed)."""
    experiment = client.get_experiment_by_name(experiment_name)
    if experiment is None:
        raise StudyNotFound(f"no experiment named {experiment_name!r} in {client.tracking_uri}.")
    runs = runs_frame(search_all_runs(client, [experiment.experiment_id]))
    plain = _plain_runs(runs)
    if plain.empty:
        raise StudyNotFound(
            f"experiment {experiment_name!r} has no plain runs with {HYDRA_OVERRIDES} tags (study runs are "
            "reported by study name instead)."
        )
    overrides = plain[tag_column(HYDRA_OVERRIDES)].map(parse_overrides)
    keys = sorted({key for o in overrides for key in o})
    swept = [key for key in keys if key != SEED_KEY and len({o.get(key) for o in overrides}) > 1]
    plain = plain.assign(
        arm=overrides.map(lambda o: ",".join(f"{k}={o.get(k, '?')}" for k in swept) or "all runs"),
        seed=overrides.map(lambda o: int(o.get(SEED_KEY, 0))),
        changed=overrides.map(lambda o: {k: o.get(k, "?") for k in swept}),
        run_key=plain["run_id"],
    )
    arms = list(dict.fromkeys(plain.sort_values("start_time")["arm"]))
    if reference is not None and reference not in arms:
        raise StudyNotFound(
            f"--reference {reference!r} is not an arm of this sweep; arms: {', '.join(arms)}."
        )
    reference = reference or arms[0]
    arms = [reference] + [arm for arm in arms if arm != reference]
    newest = plain.sort_values("start_time", ascending=False, kind="stable")
    finished = newest[newest["status"] == FINISHED].drop_duplicates(["arm", "seed"])
    finished = finished.assign(reference=finished["arm"] == reference)
    plan = finished[PLAN_COLUMNS].reset_index(drop=True)
    notes = [
        f"A plain Hydra multirun, read from experiment {experiment_name!r}: swept keys "
        f"{', '.join(swept) or '(none)'}; {SEED_KEY} values are replicates; the newest FINISHED run per arm "
        "and seed counts. Runs that did not finish are left out (a plain sweep records no plan)."
    ]
    return Launch(
        parent_run_id="(plain sweep)",
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
