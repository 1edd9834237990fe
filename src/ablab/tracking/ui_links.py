"""Where a browser shows a store's runs: a tracking server's page, or the ``ablab-ui`` command
that serves a local store."""

from __future__ import annotations

import shlex

# MLflow 3 opens on its GenAI page unless told which workflow the runs belong to.
RUNS_VIEW = "?workflowType=machine_learning"


def runs_url(base: str, experiment_id: str | None = None) -> str:
    """The UI page listing the runs (of one experiment when its id is given)."""
    base = base.rstrip("/")
    if experiment_id is None:
        return f"{base}/#/experiments{RUNS_VIEW}"
    return f"{base}/#/experiments/{experiment_id}/runs{RUNS_VIEW}"


def open_command(tracking_uri: str, experiment: str, experiment_id: str) -> str:
    """How to see ``experiment`` of ``tracking_uri`` in a browser: a server's page, else ablab-ui."""
    if tracking_uri.startswith(("http://", "https://")):
        return runs_url(tracking_uri, experiment_id)
    return f"ablab-ui --tracking-uri {shlex.quote(tracking_uri)} --experiment {shlex.quote(experiment)}"
