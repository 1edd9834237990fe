"""Launches at the same time: a fresh store created once, one live launch per study, others side by side."""

from __future__ import annotations

import os
import subprocess
from collections import Counter

import pytest
from mlflow.tracking import MlflowClient

from ablab.errors import StudyBusy
from ablab.study.bookkeeping import close_study, open_study
from ablab.tracking.lease import claim, prepare_launch
from ablab.tracking.tags import KILLED_REASON, OWNER_HOST, OWNER_PID, RUN_KEY
from test_study_sweeper import ABLAB_TRAIN, TINY_STUDY, client_for, study_runs


def test_the_later_of_two_launches_gives_way_and_says_who_holds_the_study(store):
    client = MlflowClient(store)
    first = open_study(client, "s", "ofat", [], n_arms=1, n_seeds=1)
    second = open_study(client, "s", "ofat", [], n_arms=1, n_seeds=1)
    claim(client, first, "s")  # it started first: it keeps the study
    with pytest.raises(StudyBusy) as raised:
        claim(client, second, "s")
    message = str(raised.value)
    assert f"launch {first}" in message and "already running" in message and "refuses" in message
    assert client.get_run(second).info.status == "KILLED"
    assert client.get_run(second).data.tags[KILLED_REASON] == f"gave way to launch {first}"

    with pytest.raises(StudyBusy, match=first):
        prepare_launch(client, "s", dry_run=False)  # a third launch is refused before it plans
    (note,) = prepare_launch(client, "s", dry_run=True)  # a dry run only says it
    assert f"being run now by launch {first}" in note
    assert prepare_launch(client, "other study", dry_run=False) == []  # studies side by side
    close_study(client, first, {"finished": 1})
    assert prepare_launch(client, "s", dry_run=False) == []  # the lease ends with its launch


def test_a_dead_lease_holder_is_reaped_and_the_study_is_free(store):
    client = MlflowClient(store)
    holder = open_study(client, "s", "ofat", [], n_arms=1, n_seeds=1)
    client.set_tag(holder, OWNER_PID, "999999999")  # its owner is gone from this host
    assert client.get_run(holder).data.tags[OWNER_HOST]
    (note,) = prepare_launch(client, "s", dry_run=False)
    assert "1 stale run(s)" in note and holder in note
    assert client.get_run(holder).info.status == "KILLED"


def start_study(cwd, study: str, sweep: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    command = [ABLAB_TRAIN, f"--config-dir={cwd / 'conf'}", f"study={study}", "hydra/launcher=basic"]
    command += ["hydra.sweeper.report=false", f"hydra.sweep.dir={cwd / sweep}"]
    return subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.mark.slow
def test_three_launches_at_once_on_a_store_that_does_not_exist_yet(tmp_path):
    """Two launches of study `a` and one of study `b`, started together on no mlflow.db."""
    (tmp_path / "conf" / "study").mkdir(parents=True)
    for name in ("a", "b"):
        study = TINY_STUDY.format(
            launcher="basic", baseline="{activation: sigmoid}", factors="{activation: [relu]}"
        ).replace("name: tiny", f"name: {name}")
        (tmp_path / "conf" / "study" / f"{name}.yaml").write_text(study)
    launches = [start_study(tmp_path, s, f"m{i}") for i, s in enumerate(("a", "a", "b"))]
    results = [(p.wait(timeout=600), *p.communicate()) for p in launches]

    for _code, _, err in results:
        assert "Traceback" not in err and "alembic" not in err, err[-3000:]
    (a1, a2, b) = results
    assert b[0] == 0, b[2][-2000:]
    # One launch of `a` trains it; the other gives way (exit 2, one paragraph), or, when the first
    # was already done before it looked, finds everything FINISHED.
    codes = sorted([a1[0], a2[0]])
    refused = [r for r in (a1, a2) if r[0] == 2]
    assert codes in ([0, 2], [0, 0]), (a1[2][-2000:], a2[2][-2000:])
    if refused:
        assert "is already running in this store" in refused[0][2]
    else:
        assert any("0 finished, 4 skipped" in r[1] for r in (a1, a2))
    client = client_for(tmp_path)
    for name in ("a", "b"):
        _, children = study_runs(client, name)
        finished = Counter(c.data.tags[RUN_KEY] for c in children if c.info.status == "FINISHED")
        assert len(finished) == 4 and set(finished.values()) == {1}  # no run trained twice
        assert not [c for c in children if c.info.status == "RUNNING"]


def test_a_second_launch_is_refused_before_it_plans_or_imports_tensorflow(store, workdir):
    """The lease is read right after the study spec: no job is composed, no arm's model built
    (with the basic launcher those checks run in the launching process, importing TensorFlow)."""
    from test_help import probe

    client = MlflowClient(store)
    holder = open_study(client, "seed", "ofat", [], n_arms=4, n_seeds=3)  # alive: this process
    try:
        loaded, result = probe(["study=seed", "hydra/launcher=basic"], workdir)
    finally:
        close_study(client, holder, {"finished": 0})
    assert (loaded["code"], loaded["tensorflow"], loaded["keras"]) == (2, False, False), result.stderr[-2000:]
    assert f"study 'seed' is already running in this store: launch {holder}" in result.stderr
