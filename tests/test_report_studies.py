"""Which study launch a report is about: the latest, by name, by parent run id; clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from ablab.report import StudyNotFound
from ablab.report.studies import StudyIndex, find_launch, open_client
from test_report_synthetic import Job, StudyWriter, new_store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("studies")
    uri = new_store(tmp)
    first = StudyWriter(uri, "alpha", tmp / "artifacts")
    second = StudyWriter(uri, "beta", tmp / "artifacts")
    second.clock = first.clock + 10_000_000  # beta's launches are later
    jobs = [Job("baseline", 0)]
    launches = {"alpha": [first.launch(jobs), first.launch(jobs)], "beta": [second.launch(jobs)]}
    child = first.child(launches["alpha"][1], jobs[0], {"test_accuracy": 0.5})
    return first.client, launches, child


def test_default_is_the_latest_launch_of_any_study(store) -> None:
    client, launches, _ = store
    assert find_launch(client).info.run_id == launches["beta"][0]


def test_by_name_is_that_studys_latest_launch(store) -> None:
    client, launches, _ = store
    assert find_launch(client, study="alpha").info.run_id == launches["alpha"][1]


def test_by_parent_run_id(store) -> None:
    client, launches, _ = store
    assert find_launch(client, parent_run_id=launches["alpha"][0]).info.run_id == launches["alpha"][0]


def test_unknown_name_lists_the_studies(store) -> None:
    client, launches, _ = store
    with pytest.raises(StudyNotFound) as error:
        find_launch(client, study="gamma")
    message = str(error.value)
    assert "'gamma'" in message
    assert f"alpha (2 launches, latest {launches['alpha'][1]})" in message
    assert f"beta (1 launch, latest {launches['beta'][0]})" in message


def test_unknown_or_child_run_id_is_refused_with_the_studies(store) -> None:
    client, launches, child = store
    with pytest.raises(StudyNotFound, match="'0123abc' is not a study launch.*alpha"):
        find_launch(client, parent_run_id="0123abc")
    with pytest.raises(StudyNotFound, match=f"child run of study launch {launches['alpha'][1]}"):
        find_launch(client, parent_run_id=child)
    with pytest.raises(StudyNotFound, match="belongs to study 'alpha', not 'beta'"):
        find_launch(client, study="beta", parent_run_id=launches["alpha"][0])


def test_index_lists_launches_newest_first(store) -> None:
    client, launches, _ = store
    index = StudyIndex(client)
    assert [run.info.run_id for run in index.launches] == [launches["beta"][0], *launches["alpha"][::-1]]


def test_empty_store_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(StudyNotFound, match="no study launches"):
        find_launch(open_client(new_store(tmp_path)))
    missing = tmp_path / "nowhere" / "mlflow.db"
    with pytest.raises(StudyNotFound, match="no MLflow store at"):
        open_client(f"sqlite:///{missing}")
    assert not missing.exists()
