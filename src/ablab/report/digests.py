"""Same data, or no comparison: the runs an arm comparison uses must have trained and been tested
on the same data, by the dataset digests each run logged (``tracking.record.dataset_inputs``).

A relaunch skips FINISHED runs and trains the missing ones on whatever the data file holds
now; a file edited in between would silently mix two datasets in one table. Arms that change
the data on purpose (a ``dataset.*``, ``scaling`` or ``trainer.validation_split`` factor) are
checked on their own: their seeds must agree with each other.
"""

from __future__ import annotations

import pandas as pd
from mlflow.tracking import MlflowClient
from mlflow.utils import mlflow_tags

from ablab.errors import ReportError

# Study keys whose change gives an arm other data by design (its digest may differ from the reference's).
DATA_KEYS = ("dataset", "scaling", "trainer.validation_split")


def data_digests(client: MlflowClient, finished: pd.DataFrame) -> pd.DataFrame:
    """One row per logged split of each finished run: arm, seed, changed, context, digest."""
    rows = []
    for _, run in finished.iterrows():
        for item in client.get_run(run["run_id"]).inputs.dataset_inputs:
            tags = {tag.key: tag.value for tag in item.tags}
            context = tags.get(mlflow_tags.MLFLOW_DATASET_CONTEXT, "")
            rows.append((run["arm"], run["seed"], run["changed"], context, item.dataset.digest))
    return pd.DataFrame(rows, columns=["arm", "seed", "changed", "context", "digest"])


def _changes_data(changed: object) -> bool:
    keys = changed if isinstance(changed, dict) else {}
    return any(k == d or k.startswith(d + ".") for k in keys for d in DATA_KEYS)


def check_same_data(client: MlflowClient, launch) -> None:
    """Raise ReportError naming the arms and digests when runs compared with one another logged
    different data digests (``launch``: ``report.launch_record.Launch``)."""
    if launch.finished.empty or "changed" not in launch.finished:
        return
    digests = data_digests(client, launch.finished)
    if digests.empty:
        return  # runs from before ablab logged inputs: nothing to check
    group = digests["arm"].where(digests["changed"].map(_changes_data), "")
    for (arms, context), part in digests.groupby([group, "context"], sort=False):
        if part["digest"].nunique() < 2:
            continue
        used = []
        for digest, runs in part.groupby("digest", sort=False):
            seeds = runs.groupby("arm", sort=False)["seed"].agg(lambda s: ", ".join(map(str, sorted(s))))
            who = "; ".join(f"arm {arm!r} seed(s) {seeds[arm]}" for arm in seeds.index)
            used.append(f"digest {digest}: {who}")
        where = f"arm {arms!r}" if arms else "the arms compared"
        raise ReportError(
            f"Study {launch.study!r}: the runs of {where} did not all use the same data (MLflow "
            f"dataset digest of the {context or 'logged'} split) — {' | '.join(used)}. The data "
            "changed between launches (a data file edited?), so their comparison would mix two "
            "datasets. Restore the data, or train every run on the current data again "
            "(study.rerun=true), then make the report."
        )
