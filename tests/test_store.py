"""A new sqlite store: a copy of the cached empty one, the same as MLflow would make it."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from ablab.tracking.store import empty_store, prepare_store


@pytest.fixture
def own_cache(tmp_path, monkeypatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("ABLAB_CACHE_DIR", str(cache))
    monkeypatch.chdir(tmp_path)
    return cache


def _schema(path: Path) -> tuple[list, list, list]:
    """Tables and indexes, the schema version, the experiments. A statement's lines are compared
    as a set: MLflow's own migrations order a table's constraints differently from run to run."""
    with sqlite3.connect(path) as db:
        return (
            sorted(
                (kind, name, frozenset(line.strip().rstrip(",") for line in (sql or "").splitlines()))
                for kind, name, sql in db.execute("SELECT type, name, sql FROM sqlite_master")
            ),
            db.execute("SELECT version_num FROM alembic_version").fetchall(),
            db.execute(
                "SELECT experiment_id, name, artifact_location, lifecycle_stage FROM experiments"
            ).fetchall(),
        )


def test_a_new_store_is_the_store_mlflow_makes(own_cache, tmp_path):
    MlflowClient(f"sqlite:///{tmp_path / 'by_mlflow.db'}").search_experiments()
    client = prepare_store(f"sqlite:///{tmp_path / 'a.db'}")
    template = empty_store()
    made = template.stat().st_mtime_ns
    prepare_store(f"sqlite:///{tmp_path / 'b.db'}")

    by_mlflow = _schema(tmp_path / "by_mlflow.db")
    assert _schema(tmp_path / "a.db") == _schema(tmp_path / "b.db") == by_mlflow
    assert by_mlflow[2] == [(0, "Default", str(tmp_path / "mlruns" / "0"), "active")]
    assert list(own_cache.iterdir()) == [template] and template.stat().st_mtime_ns == made  # made once
    run = client.create_run("0")
    client.log_metric(run.info.run_id, "accuracy", 0.5)
    client.set_terminated(run.info.run_id)
    assert client.get_run(run.info.run_id).info.status == "FINISHED"


def test_an_existing_store_is_opened_not_replaced(own_cache, tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = prepare_store(uri)
    run = client.create_run(client.create_experiment("kept"))
    client.set_terminated(run.info.run_id)

    again = prepare_store(uri)
    assert again.get_run(run.info.run_id).info.status == "FINISHED"
    assert again.get_experiment_by_name("kept") is not None


def test_launches_that_make_the_empty_store_at_once_all_get_a_whole_one(own_cache):
    with ProcessPoolExecutor(3, mp_context=get_context("spawn")) as pool:
        paths = list(pool.map(_make_empty_store, [str(own_cache)] * 3))
    assert len(set(paths)) == 1
    assert _schema(Path(paths[0]))[1]  # migrated to a version
    assert [p.name for p in own_cache.iterdir()] == [Path(paths[0]).name]  # no partial file left


def _make_empty_store(cache: str) -> str:
    import os

    os.environ["ABLAB_CACHE_DIR"] = cache
    return str(empty_store())


def test_a_reader_never_sees_half_a_new_store(own_cache, tmp_path, monkeypatch):
    """A study's store appears whole: a client that opens it mid-copy (the MLflow UI, a test
    polling for it) would start MLflow's own migrations on half a file and break the launch."""
    import shutil

    import ablab.tracking.store as store

    path = tmp_path / "mlflow.db"
    seen_while_copying = []
    copyfile = shutil.copyfile

    def copy_and_look(source, target):
        copied = copyfile(source, target)
        seen_while_copying.append(path.exists())  # the copy is done; is the store already there?
        return copied

    monkeypatch.setattr(store.shutil, "copyfile", copy_and_look)
    prepare_store(f"sqlite:///{path}")
    assert seen_while_copying == [False]
    assert _schema(path)[1] and not list(tmp_path.glob("*.partial"))
