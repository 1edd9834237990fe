"""Find a study launch (its parent run) in MLflow: the latest, by study name, or by run id."""

from __future__ import annotations

from pathlib import Path

from mlflow.entities import Run, ViewType
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from ablab.errors import StudyNotFound
from ablab.report.read import search_all_runs
from ablab.tracking.tags import PARENT_RUN_ID, ROLE, ROLE_STUDY, STUDY


class StudyIndex:
    """Every study launch (parent run tagged ablab.role=study) in a tracking store, newest first."""

    def __init__(self, client: MlflowClient) -> None:
        self.client = client
        self.experiment_names = _experiment_names(client)
        self.launches: list[Run] = []
        if self.experiment_names:
            self.launches = search_all_runs(
                client,
                list(self.experiment_names),
                filter_string=f"tags.`{ROLE}` = '{ROLE_STUDY}'",
                order_by=["attributes.start_time DESC"],
            )

    def study_of(self, parent: Run) -> str:
        """A launch's study: its ablab.study tag, else its experiment's name."""
        return parent.data.tags.get(STUDY) or self.experiment_names.get(parent.info.experiment_id, "?")

    def answers_to(self, parent: Run, name: str) -> bool:
        return name in (self.study_of(parent), self.experiment_names.get(parent.info.experiment_id))

    def summary(self) -> list[str]:
        """One line per study: its name, how many launches, and the latest launch's run id."""
        by_study: dict[str, list[Run]] = {}
        for run in self.launches:
            by_study.setdefault(self.study_of(run), []).append(run)
        return [
            f"{name} ({len(runs)} launch{'es' if len(runs) > 1 else ''}, latest {runs[0].info.run_id})"
            for name, runs in by_study.items()
        ]

    def existing(self) -> str:
        lines = self.summary()
        if not lines:
            return f"There are no studies in {self.client.tracking_uri}."
        return "Studies that exist: " + "; ".join(lines) + "."


def open_client(tracking_uri: str) -> MlflowClient:
    """A client on an existing store: a mistyped sqlite path must not create an empty database."""
    if tracking_uri.startswith("sqlite:///"):
        path = Path(tracking_uri.removeprefix("sqlite:///").split("?")[0])
        if not path.exists():
            raise StudyNotFound(
                f"no MLflow store at {path} (tracking URI {tracking_uri}); pass --tracking-uri or set "
                "MLFLOW_TRACKING_URI to the store the study was run with."
            )
    return MlflowClient(tracking_uri)


def find_launch(client: MlflowClient, study: str | None = None, parent_run_id: str | None = None) -> Run:
    """The parent run to report on; raises StudyNotFound listing the studies that exist."""
    index = StudyIndex(client)
    if parent_run_id:
        parent = _get_run(client, parent_run_id)
        if parent is None or parent.data.tags.get(ROLE) != ROLE_STUDY:
            hint = ""
            if parent is not None and parent.data.tags.get(PARENT_RUN_ID):
                hint = f" (it is a child run of study launch {parent.data.tags[PARENT_RUN_ID]})"
            raise StudyNotFound(
                f"run id {parent_run_id!r} is not a study launch (a run tagged {ROLE}={ROLE_STUDY}){hint}. "
                + index.existing()
            )
        if study and not index.answers_to(parent, study):
            raise StudyNotFound(
                f"run {parent_run_id} belongs to study {index.study_of(parent)!r}, not {study!r}."
            )
        return parent
    if study:
        matching = [run for run in index.launches if index.answers_to(run, study)]
        if not matching:
            raise StudyNotFound(f"no study named {study!r}. " + index.existing())
        return matching[0]
    if not index.launches:
        raise StudyNotFound(
            f"no study launches in {client.tracking_uri}: run a study first, e.g. `ablab-train study=seed`."
        )
    return index.launches[0]


def _get_run(client: MlflowClient, run_id: str) -> Run | None:
    try:
        return client.get_run(run_id)
    except MlflowException:
        return None


def _experiment_names(client: MlflowClient) -> dict[str, str]:
    names: dict[str, str] = {}
    token = None
    while True:
        page = client.search_experiments(view_type=ViewType.ACTIVE_ONLY, max_results=1000, page_token=token)
        names.update({experiment.experiment_id: experiment.name for experiment in page})
        token = page.token
        if not token:
            return names
