"""``ablab-report`` / ``python -m ablab.cli.report``: flags, printed table, exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ablab.cli.report import main
from test_report_synthetic import new_store, write_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("cli")
    return write_demo(new_store(tmp), tmp / "artifacts")


def test_prints_the_table_and_writes_the_report(demo, tmp_path: Path, capsys) -> None:
    main(["demo", "--tracking-uri", demo.uri, "--out", str(tmp_path), "--no-log"])
    out = capsys.readouterr().out
    assert "initializer=he_normal" in out and "+19.00 pp [+12.43, +25.57]" in out
    assert "diverged (FAILED)" in out
    assert len(list((tmp_path / "demo").glob("*/report.html"))) == 1
    assert not demo.writer.client.list_artifacts(demo.parent, "report")  # --no-log


def test_unknown_study_exits_2_listing_studies(demo, tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["nope", "--tracking-uri", demo.uri, "--out", str(tmp_path)])
    assert exit_info.value.code == 2
    assert (
        "ablab-report: no study named 'nope'. Studies that exist: demo (2 launches" in capsys.readouterr().err
    )


def test_unknown_metric_exits_2_listing_metrics(demo, tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--tracking-uri", demo.uri, "--metric", "f1", "--out", str(tmp_path)])
    assert "Logged: accuracy, loss, param_count, test_accuracy" in capsys.readouterr().err


def test_python_dash_m_lists_studies(demo) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ablab.cli.report", "--list", "--tracking-uri", demo.uri],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"demo (2 launches, latest {demo.parent})")


def test_the_report_command_prints_no_download_bars(demo, tmp_path: Path) -> None:
    """It reads the launch's plan.json artifact: MLflow would draw a progress bar for it."""
    result = subprocess.run(
        [sys.executable, "-m", "ablab.cli.report", "demo", "--tracking-uri", demo.uri, "--out", tmp_path],
        capture_output=True, text=True, timeout=120, check=False,
        env={k: v for k, v in os.environ.items() if k != "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Downloading artifacts" not in result.stdout + result.stderr
