"""The results in words: results.txt and the report's paragraph, what ``ablab-report`` ends with,
and the verdict lines a study launch prints from the findings its report computed.

The numbers in the expected sentences are computed here from the synthetic values (a paired
t-test written out with scipy's t distribution), not read from the report.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import t as student_t

from ablab.cli.report import main
from ablab.report import make_report
from ablab.study.console import format_verdicts
from ablab.study.sweep import StudySweep
from test_report_degenerate import BASELINE as STUCK_BASELINE
from test_report_degenerate import HE_NORMAL as STUCK_HE
from test_report_degenerate import RELU as STUCK_RELU
from test_report_degenerate import write_stuck_study
from test_report_synthetic import BASELINE, HE_NORMAL, RELU, new_store, write_demo


def paired(arm: dict[int, float], reference: dict[int, float]) -> tuple[float, float, float, float]:
    """Δ (pp) over the seeds both have, its 95% CI and the two-sided p of a paired t-test."""
    seeds = sorted(set(arm) & set(reference))
    d = np.array([arm[s] - reference[s] for s in seeds])
    n, mean, sd = len(d), d.mean(), d.std(ddof=1)
    half = student_t.ppf(0.975, n - 1) * sd / math.sqrt(n)
    p = 2 * student_t.sf(abs(mean) * math.sqrt(n) / sd, n - 1)
    return 100 * mean, 100 * (mean - half), 100 * (mean + half), p


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("words")
    demo = write_demo(new_store(tmp), tmp / "artifacts")
    return demo, make_report(demo.uri, out_root=tmp / "reports")


def test_results_txt_says_each_comparison_in_words(demo) -> None:
    _, folder = demo
    text = (folder / "results.txt").read_text()
    he, relu = paired(HE_NORMAL, BASELINE), paired(RELU, BASELINE)
    holm = min(1.0, 2 * min(he[3], relu[3]))  # both adjusted to 2 x the smaller p (the larger is below it)
    assert text.startswith(
        "Against the baseline arm (initializer=random_uniform, activation=sigmoid, optimizer=sgd), "
        f"initializer=he_normal improved test accuracy by {he[0]:.1f} pp [95% CI {he[1]:.1f}, {he[2]:.1f}] "
        f"(paired t-test over 3 seeds, Holm-corrected p = {holm:.4f}); "
        f"activation=relu improved test accuracy by {relu[0]:.1f} pp [95% CI {relu[1]:.1f}, {relu[2]:.1f}] "
        f"(paired t-test over 2 seeds, Holm-corrected p = {holm:.4f}); "
        "optimizer=adam scored 0.9200 over 1 run(s), Δ +69.7 pp, untested (n=1: no CI possible)."
    )
    assert "Verdicts at α = 0.05, Holm-corrected across the 2 tested comparison(s)" in text
    assert "within ±1.0 pp (the study's margin)" in text
    assert "\n" not in text.strip()  # one paragraph
    markdown = (folder / "report.md").read_text()
    assert "## Results in words" in markdown and "initializer=he\\_normal improved test accuracy" in markdown
    assert "<h2>Results in words</h2>" in (folder / "report.html").read_text()


def test_inconclusive_and_degenerate_comparisons_are_worded_honestly(tmp_path: Path) -> None:
    uri = new_store(tmp_path)
    write_stuck_study(uri, tmp_path / "artifacts")
    text = (make_report(uri, study="stuck", out_root=tmp_path / "reports") / "results.txt").read_text()
    he, relu = paired(STUCK_HE, STUCK_BASELINE), paired(STUCK_RELU, STUCK_BASELINE)
    holm = max(2 * relu[3], he[3])  # Holm: the smaller p times 2, the larger times 1, kept in order
    assert (
        f"initializer=he_normal changed test accuracy by +{he[0]:.1f} pp [95% CI {he[1]:.1f}, {he[2]:.1f}], "
        "which these seeds can neither tell from no change "
        f"(paired t-test over 3 seeds, Holm-corrected p = {holm:.4f}) nor show equivalent within ±1.0 pp"
    ) in text
    assert f"activation=relu improved test accuracy by {relu[0]:.1f} pp" in text
    assert text.strip().endswith(
        "Caution: baseline is at chance level for 10 classes (0.1000; 1/10 = 0.1000) and identical on every "
        "seed (sd 0), so differences from it say little about a working model."
    )


def test_ablab_report_ends_with_the_results_in_words(demo, tmp_path: Path, capsys) -> None:
    study, _ = demo
    main(["demo", "--tracking-uri", study.uri, "--out", str(tmp_path), "--no-log"])
    out = capsys.readouterr().out.rstrip("\n")
    (folder,) = (tmp_path / "demo").iterdir()
    assert out.endswith("Results in words (results.txt):\n" + (folder / "results.txt").read_text().strip())


def test_a_study_launch_prints_its_reports_verdicts(tmp_path: Path, monkeypatch) -> None:
    """What the launch prints after its outcome table: the verdicts of the report it just wrote."""
    demo = write_demo(new_store(tmp_path), tmp_path / "artifacts")
    monkeypatch.chdir(tmp_path)
    where, lines = StudySweep(None, None, None)._report(demo.uri, demo.parent)
    (folder,) = (tmp_path / "reports" / "demo").iterdir()  # one report, the one the lines come from
    assert Path(where).resolve() == folder / "report.html"
    he, relu = paired(HE_NORMAL, BASELINE), paired(RELU, BASELINE)
    assert lines == [
        f"initializer=he_normal: better, {he[0]:+.1f} pp [{he[1]:.1f}, {he[2]:.1f}]",
        f"activation=relu: better, {relu[0]:+.1f} pp [{relu[1]:.1f}, {relu[2]:.1f}]",
        "optimizer=adam: n=1: no CI possible, +69.7 pp (no CI)",
    ]
    assert format_verdicts(lines).splitlines()[:2] == [
        "Verdicts (Δ vs the compared arm, 95% CI):",
        f"  initializer=he_normal: better, {he[0]:+.1f} pp [{he[1]:.1f}, {he[2]:.1f}]",
    ]
    assert StudySweep(None, None, None)._report("sqlite:///" + str(tmp_path / "none.db"), "0" * 32)[1] == []


def test_a_launch_counts_its_time_from_the_process_start() -> None:
    """The planning before the sweeper starts counts: here a second of sleep before it exists."""
    script = (
        "import time; time.sleep(1.0)\n"
        "from ablab.study.sweep import StudySweep\n"
        "print(StudySweep(None, None, None)._seconds())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert 1.0 <= float(result.stdout.strip()) < 60
