"""Hydra callbacks: work done once in the launching process of a multirun."""

from __future__ import annotations

from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig


class PrepareTrackingStore(Callback):
    """Create the MLflow store and experiment before any job starts.

    Parallel jobs that meet a fresh sqlite file race on creating its tables, and parallel
    experiment creation can silently put runs in "Default". Studies do this in their sweeper.
    """

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        if config.get("study") is not None:
            return
        import sys

        from ablab.errors import TrackingUnavailable
        from ablab.tracking.client import ensure_experiment, resolve_tracking_uri
        from ablab.tracking.server_check import check_tracking_server, uri_source
        from ablab.tracking.store import prepare_store

        uri = resolve_tracking_uri(config.tracking.uri, config.hydra.runtime.cwd)
        try:
            check_tracking_server(uri, uri_source(config.tracking.uri))
            client = prepare_store(uri, uri_source(config.tracking.uri))
        except TrackingUnavailable as error:
            print(f"ablab-train: {error}", file=sys.stderr)
            raise SystemExit(2) from error
        ensure_experiment(client, config.tracking.experiment)
