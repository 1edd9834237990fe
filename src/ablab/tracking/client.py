"""Everything ablab writes to MLflow: where the store is, the experiment, and one run's record.

Runs are written through an explicit ``MlflowClient`` (no fluent global state), so a worker
that trains many jobs in a row never logs into the wrong run or store.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import subprocess
import time
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mlflow.entities import DatasetInput, Metric, Param, Run, RunStatus, RunTag, ViewType
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from omegaconf import DictConfig, OmegaConf

from ablab.tracking.liveness import HEARTBEAT, owner_tags
from ablab.tracking.tags import ERROR, PARENT_RUN_ID, RUN_NAME

log = logging.getLogger(__name__)

# MLflow's log_batch accepts at most this many items of each kind per call.
_BATCH_LIMIT = 1000
_TAG_VALUE_LIMIT = 5000


def resolve_tracking_uri(configured: str | None, base_dir: str | Path) -> str:
    """Config key first, then $MLFLOW_TRACKING_URI, else ``mlflow.db`` in ``base_dir``; a ``~``
    in a local store's path is the home folder, as in a shell."""
    if configured:
        return expand_home(configured)
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return expand_home(os.environ["MLFLOW_TRACKING_URI"])
    return f"sqlite:///{(Path(base_dir) / 'mlflow.db').resolve()}"


def expand_home(uri: str) -> str:
    """``sqlite:///~/x.db``, ``file:~/mlruns`` or ``~/mlruns`` with the home folder spelled out
    (MLflow would make a folder named ``~``); any other URI as it is."""
    for scheme in ("sqlite:///", "file:", ""):
        if uri.startswith(f"{scheme}~"):
            return f"{scheme}{Path(uri[len(scheme):]).expanduser()}"
    return uri


def ensure_experiment(client: MlflowClient, name: str) -> str:
    """Return the id of experiment ``name``, creating it (race-tolerant) if needed."""
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        if experiment.lifecycle_stage == "deleted":
            client.restore_experiment(experiment.experiment_id)
        return experiment.experiment_id
    try:
        return client.create_experiment(name)
    except MlflowException:
        # Another process created it between our lookup and our create.
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            raise
        return experiment.experiment_id


# MLflow's sqlite/file stores return at most this many runs per page by default.
PAGE_SIZE = 1000


def search_all_runs(
    client: MlflowClient,
    experiment_ids: Sequence[str],
    filter_string: str = "",
    order_by: Sequence[str] | None = None,
    page_size: int = PAGE_SIZE,
) -> list[Run]:
    """All matching active runs, following page tokens to the end (never just the first page).

    Oldest first by default, so runs created while paging land on later pages instead of
    shifting the ones not read yet; a run seen twice is kept once.
    """
    runs: dict[str, Run] = {}
    token = None
    while True:
        page = client.search_runs(
            list(experiment_ids),
            filter_string=filter_string,
            run_view_type=ViewType.ACTIVE_ONLY,
            max_results=page_size,
            order_by=list(order_by or ["attributes.start_time ASC"]),
            page_token=token,
        )
        for run in page:
            runs.setdefault(run.info.run_id, run)
        token = page.token
        if not token:
            return list(runs.values())


def config_entries(cfg: DictConfig) -> tuple[dict[str, str], dict[str, str]]:
    """(params, settings): the resolved run config as ``group.key`` text values.

    Params are what can change a run's numbers; settings (``run_key.NOT_PART_OF_RESULT``: where
    it is logged, how verbose, how fast) are logged as tags. Each group's keys are its schema's,
    whatever option is chosen, so every run of a study has the same param keys: a nested value
    (an ``args`` dict, a list) is one JSON param (``{}`` when empty), never leaf keys that only
    some options have. ``study``, ``pack``, ``tracking.tags`` and ``tracking.parent_run_id`` are
    bookkeeping, logged elsewhere or not at all.
    """
    from ablab.config.run_key import NOT_PART_OF_RESULT

    container = OmegaConf.to_container(cfg, resolve=True)
    for key in ("hydra", "study", "pack"):
        container.pop(key, None)
    for key in ("tags", "parent_run_id"):
        container.get("tracking", {}).pop(key, None)
    params: dict[str, str] = {}
    settings: dict[str, str] = {}
    for group, node in container.items():
        for key, value in node.items() if isinstance(node, dict) else [("", node)]:
            name = f"{group}.{key}" if key else str(group)
            is_setting = any(name == k or name.startswith(f"{k}.") for k in NOT_PART_OF_RESULT)
            (settings if is_setting else params)[name] = _as_text(value)
    return params, settings


def _as_text(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return "None" if value is None else str(value)


def git_commit(directory: str | Path) -> str | None:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=directory, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def library_versions() -> dict[str, str]:
    import hydra
    import keras
    import mlflow

    backend = keras.backend.backend()  # the library Keras runs on (trainer.backend)
    return {
        f"version.{backend}": importlib.import_module(backend).__version__,
        "version.keras": keras.__version__,
        "version.hydra": hydra.__version__,
        "version.mlflow": mlflow.__version__,
    }


class RunRecorder:
    """One MLflow run: buffered metrics, final metrics, artifacts and the end status."""

    def __init__(self, client: MlflowClient, run_id: str, flush_every_s: float = 15.0) -> None:
        self.client = client
        self.run_id = run_id
        self._pending: list[Metric] = []
        self._flush_every_s = flush_every_s
        self._last_flush = time.monotonic()

    def log_params(self, params: Mapping[str, str]) -> None:
        items = [Param(key, value) for key, value in params.items()]
        for start in range(0, len(items), 100):
            self.client.log_batch(self.run_id, params=items[start : start + 100])

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        items = [RunTag(k, str(v)[:_TAG_VALUE_LIMIT]) for k, v in tags.items() if v is not None]
        for start in range(0, len(items), _BATCH_LIMIT):
            self.client.log_batch(self.run_id, tags=items[start : start + _BATCH_LIMIT])

    def log_epoch(self, epoch: int, values: Mapping[str, float]) -> None:
        """Buffer one epoch's metrics (step = epoch); flush every few seconds, not every epoch."""
        now_ms = int(time.time() * 1000)
        self._pending += [Metric(k, float(v), now_ms, epoch) for k, v in values.items()]
        if time.monotonic() - self._last_flush >= self._flush_every_s:
            self.flush()

    def log_metrics(self, values: Mapping[str, float], step: int = 0) -> None:
        """Log final values now; ``step`` numbers repeated ones (an ensemble's members)."""
        now_ms = int(time.time() * 1000)
        self._pending += [Metric(k, float(v), now_ms, step) for k, v in values.items()]
        self.flush()

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        for start in range(0, len(pending), _BATCH_LIMIT):
            self.client.log_batch(self.run_id, metrics=pending[start : start + _BATCH_LIMIT])
        self._last_flush = time.monotonic()

    def log_text(self, text: str, path: str) -> None:
        self.client.log_text(self.run_id, text, path)

    def log_figure(self, figure: Any, path: str) -> None:
        self.client.log_figure(self.run_id, figure, path)

    def log_inputs(self, datasets: Sequence[DatasetInput], attempts: int = 5) -> None:
        """Log dataset inputs. MLflow's store looks a dataset up, then inserts it: parallel jobs
        logging the same one race on the insert; the loser's retry finds it."""
        for attempt in range(attempts):
            try:
                self.client.log_inputs(self.run_id, datasets=list(datasets))
                return
            except MlflowException as error:
                if "unique constraint" not in str(error).lower() or attempt == attempts - 1:
                    raise
                time.sleep(0.2 * (attempt + 1))


def start_run(
    client: MlflowClient,
    experiment_id: str,
    run_name: str,
    tags: Mapping[str, str],
    parent_run_id: str | None = None,
) -> RunRecorder:
    """Open a run; end it with ``finish_run`` or ``fail_run``, never leave it RUNNING.

    The run names its owner and keeps a heartbeat while open (``ablab.tracking.liveness``).
    """
    run_tags = {RUN_NAME: run_name, **tags, **owner_tags()}
    if parent_run_id:
        run_tags[PARENT_RUN_ID] = parent_run_id
    run = client.create_run(experiment_id, run_name=run_name, tags=run_tags)
    HEARTBEAT.add(client, run.info.run_id)
    return RunRecorder(client, run.info.run_id)


def finish_run(recorder: RunRecorder) -> None:
    recorder.flush()
    recorder.client.set_terminated(recorder.run_id, RunStatus.to_string(RunStatus.FINISHED))
    HEARTBEAT.remove(recorder.run_id)


def fail_run(recorder: RunRecorder, error: BaseException) -> None:
    """KILLED after Ctrl-C, FAILED otherwise, with the error as ``error.txt`` and a tag."""
    if isinstance(error, KeyboardInterrupt):
        message = "interrupted (KeyboardInterrupt)"
        _end_quietly(recorder, RunStatus.KILLED, message, message)
    else:
        _end_quietly(
            recorder, RunStatus.FAILED, "".join(traceback.format_exception(error)), error_summary(error)
        )


def error_summary(error: BaseException, limit: int = 1000) -> str:
    """The error as one line for the ``ablab.error`` tag: type and message, whitespace collapsed.

    Not the traceback's last line: TensorFlow ends its messages with an op name, and puts the
    cause just before it; a long message keeps its head and its tail.
    """
    text = " ".join(f"{type(error).__name__}: {error}".split())
    return text if len(text) <= limit else f"{text[: limit // 2]} ... {text[-limit // 2 :]}"


def _end_quietly(recorder: RunRecorder, status: int, error_text: str, summary: str) -> None:
    """Keep the partial curves and the error, then close the run; never raise.

    It runs while an error is on its way up: an error of its own (the store went away) would
    replace that one, so it is only logged. A run it cannot close stays RUNNING until its
    owner is found gone (``ablab.tracking.liveness``).
    """
    for step in (
        recorder.flush,
        lambda: recorder.set_tags({ERROR: summary}),
        lambda: recorder.log_text(error_text, "error.txt"),
        lambda: recorder.client.set_terminated(recorder.run_id, RunStatus.to_string(status)),
    ):
        try:
            step()
        except Exception as error:  # noqa: BLE001 - logged; the original error must win
            log.warning("run %s: could not record its failure: %s", recorder.run_id, error_summary(error))
    HEARTBEAT.remove(recorder.run_id)
