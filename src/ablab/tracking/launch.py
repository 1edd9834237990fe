"""One id per ``ablab-train`` command, shared by the job processes it starts: the ``ablab.launch``
tag on each of its runs, which tells one plain multirun's runs from another's (``ablab-report
--sweep``). Imports no MLflow: ``ablab-train`` names its launch before anything else."""

from __future__ import annotations

import os
import uuid

LAUNCH_ENV = "ABLAB_LAUNCH_ID"  # set once by ablab-train; its workers inherit it


def new_launch() -> None:
    """Called by ablab-train at startup: a fresh id, even where its own caller had one (a
    script or a test that runs several commands in a row)."""
    os.environ[LAUNCH_ENV] = uuid.uuid4().hex


def launch_id() -> str:
    """This launch's id: the one ablab-train set for itself and its workers, else a new one."""
    return os.environ.setdefault(LAUNCH_ENV, uuid.uuid4().hex)
