"""The study's progress bar: runs ended / runs to train, with the time left.

Jobs run in other processes (joblib) or other machines (submitit), so the bar does not wait for
the launcher's results: a thread counts the launch's child runs that have ended in MLflow, the
record every launcher shares. Log lines of the launching process print above the bar.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from mlflow.tracking import MlflowClient
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from ablab.tracking.client import search_all_runs


def ended_children(client: MlflowClient, parent_run_id: str) -> int:
    """How many child runs of ``parent_run_id`` are no longer RUNNING (finished, failed, killed)."""
    experiment_id = client.get_run(parent_run_id).info.experiment_id
    runs = search_all_runs(
        client,
        [experiment_id],
        f"tags.`mlflow.parentRunId` = '{parent_run_id}' and attributes.status != 'RUNNING'",
    )
    return len(runs)


@contextmanager
def study_progress(
    tracking_uri: str,
    parent_run_id: str,
    total: int,
    initial: int = 0,
    every_s: float = 2.0,
    file: IO[str] | None = None,
    disable: bool | None = None,
) -> Iterator[tqdm]:
    """A bar over ``total`` runs (``initial`` already ended) while the block runs; ``disable=None``:
    shown on a terminal only."""
    client = MlflowClient(tracking_uri)
    stop = threading.Event()
    bar = tqdm(
        total=total,
        initial=initial,
        unit="run",
        desc="Study runs",
        file=file,
        disable=disable,
        dynamic_ncols=True,
    )

    def update() -> None:
        try:
            done = min(total, ended_children(client, parent_run_id))
        except Exception:  # noqa: BLE001 - a busy store must not stop the study: count next time
            return
        bar.update(done - bar.n)

    def poll() -> None:
        while not stop.wait(every_s):
            update()

    thread = threading.Thread(target=poll, name="study-progress", daemon=True)
    thread.start()
    try:
        with logging_redirect_tqdm(tqdm_class=tqdm):
            yield bar
    finally:
        stop.set()
        thread.join()
        update()
        bar.close()
