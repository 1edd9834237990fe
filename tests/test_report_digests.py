"""Same data, or no comparison: a data file edited between two launches of a study (the relaunch
trains the missing seeds on the new file) makes the report refuse, naming the arms and digests."""

from __future__ import annotations

import re

import numpy as np
import pytest

from ablab.errors import ReportError
from ablab.report.make import make_report
from test_study_sweeper import ablab_train, client_for, study_runs, write_conf


def write_npz(path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(120, 6)).astype(np.float32)
    np.savez(path, x=x, y=(x[:, 0] > 0).astype(np.int64))


@pytest.mark.slow
def test_a_data_file_changed_between_launches_is_refused_with_the_arms_and_digests(tmp_path):
    write_conf(tmp_path, launcher="basic")
    data = tmp_path / "data.npz"
    write_npz(data, seed=0)
    common = ["study=tiny", "dataset=npz", f"dataset.path={data}", "dataset.test_size=0.3"]
    first = ablab_train(tmp_path, *common, "study.seeds=[0]")
    assert first.returncode == 0, first.stderr[-3000:]
    assert "report      reports/tiny/" in first.stdout  # one file version: the report is made

    write_npz(data, seed=1)  # the same path, other rows: the run keys do not change
    second = ablab_train(tmp_path, *common, "study.seeds=[0,1]")
    assert second.returncode == 0, second.stderr[-3000:]
    assert "3 finished, 3 skipped" in second.stdout  # seed 1 of each arm trained on the new file
    assert "report      could not be written: Study 'tiny': the runs of the arms compared" in second.stdout

    client = client_for(tmp_path)
    _, children = study_runs(client)
    digests = {
        (c.data.tags["ablab.arm"], c.data.tags["ablab.seed"]): {
            i.dataset.digest for i in client.get_run(c.info.run_id).inputs.dataset_inputs
        }
        for c in children
    }
    old, new = digests[("baseline", "0")], digests[("baseline", "1")]
    assert old.isdisjoint(new)
    with pytest.raises(ReportError) as refused:
        make_report(client.tracking_uri, study="tiny", out_root=tmp_path / "reports", log_to_mlflow=False)
    message = str(refused.value)
    train_digests = re.findall(r"digest (\w+): ", message)
    assert len(train_digests) == 2 and {*train_digests} <= old | new
    assert "arm 'baseline' seed(s) 0" in message and "arm 'baseline' seed(s) 1" in message
    assert "arm 'optimizer=adam' seed(s) 1" in message and "study.rerun=true" in message

    rerun = ablab_train(tmp_path, *common, "study.seeds=[0,1]", "+study.rerun=true")
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "report      reports/tiny/" in rerun.stdout  # every run on the current file: reported again
