"""Open a tracking store safely: one process at a time creates a fresh sqlite file.

MLflow creates and migrates a sqlite store on first use; two launches that meet a store file
that does not exist yet race on its tables (``table _alembic_tmp_experiments already exists``).
A file lock beside the store serialises that first use. A new store starts as a copy of an
empty, migrated one kept in ablab's cache: MLflow's migrations took ~1.4 s per new file, the
copy takes milliseconds. A folder that cannot be written is said plainly, before MLflow spends
minutes retrying.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlparse

import mlflow
from filelock import FileLock
from mlflow.tracking import MlflowClient

from ablab.config.cache import cache_dir
from ablab.errors import TrackingUnavailable

LOCK_TIMEOUT_S = 300.0  # a first migration takes seconds; a lock held longer is a hung process


def sqlite_path(tracking_uri: str) -> Path | None:
    if not tracking_uri.startswith("sqlite:///"):
        return None
    return Path(tracking_uri.removeprefix("sqlite:///").split("?")[0])


def check_writable(tracking_uri: str, source: str = "tracking.uri") -> None:
    """Raise TrackingUnavailable when a sqlite store's folder (sqlite writes its journal beside
    the file) or the file itself cannot be written."""
    path = sqlite_path(tracking_uri)
    if path is None:
        return
    folder = path.parent
    problem = None
    if not folder.is_dir():
        problem = f"its folder {folder} does not exist"
    elif not os.access(folder, os.W_OK | os.X_OK):
        problem = f"its folder {folder} is read-only"
    elif path.exists() and not os.access(path, os.W_OK):
        problem = "the file is read-only"
    if problem:
        raise TrackingUnavailable(
            f"the MLflow store {path} (tracking URI {tracking_uri}, from {source}) cannot be written: "
            f"{problem}. Nothing was trained or logged. Run from a folder you can write to, or set "
            "tracking.uri (or $MLFLOW_TRACKING_URI) to a store you can write, e.g. "
            "tracking.uri=sqlite:////home/me/mlflow.db."
        )


def prepare_store(tracking_uri: str, source: str = "tracking.uri") -> MlflowClient:
    """A client on the store, created and migrated (sqlite: under a file lock) before it returns."""
    path = sqlite_path(tracking_uri)
    if path is None:
        return MlflowClient(tracking_uri)
    check_writable(tracking_uri, source)
    with FileLock(f"{path}.lock", timeout=LOCK_TIMEOUT_S):
        if not path.exists():  # copied beside, then renamed: a reader never sees half a store
            partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
            shutil.copyfile(empty_store(), partial)
            os.replace(partial, path)
        client = MlflowClient(tracking_uri)  # MLflow adds its Default experiment here
        client.search_experiments(max_results=1)
    return client


def load_store_module(tracking_uri: str) -> None:
    """Import what a first client on ``tracking_uri`` loads, ahead of it: MLflow's database store
    (~1 s); nothing for a tracking server."""
    from mlflow.store.db.db_types import DATABASE_ENGINES

    if urlparse(tracking_uri).scheme.split("+")[0] in DATABASE_ENGINES:  # sqlite, postgresql+psycopg2, ...
        import mlflow.store.tracking.sqlalchemy_store  # noqa: F401


def empty_store() -> Path:
    """A sqlite store with MLflow's tables, migrated to this MLflow version's schema, and no
    experiment: MLflow adds the Default one, with the new store's artifact location, on first
    use. Made once per MLflow version."""
    template = cache_dir() / f"mlflow-{mlflow.__version__}-empty.db"
    if not template.is_file():
        import sqlalchemy
        from mlflow.store.db.utils import _initialize_tables  # what MLflow runs on a new file

        template.parent.mkdir(parents=True, exist_ok=True)
        partial = template.with_suffix(f".{os.getpid()}.db")  # parallel launches: write, then rename
        partial.unlink(missing_ok=True)
        engine = sqlalchemy.create_engine(f"sqlite:///{partial}")
        try:
            _initialize_tables(engine)
        finally:
            engine.dispose()
        os.replace(partial, template)
    return template
