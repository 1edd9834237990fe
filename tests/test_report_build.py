"""make_report end to end on synthetic studies: exact table, files, MLflow artifacts, bad input."""

from __future__ import annotations

import html
import json
import math
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from scipy.stats import t as student_t

from ablab.report import make_report
from test_report_synthetic import BASELINE, Job, StudyWriter, new_store, write_demo

TEXT_FILES = {"report.md", "report.html", "table.csv", "table.tex", "results.txt"}
FILES = TEXT_FILES | {"learning_curves.png", "effect.png", "seeds.png"}


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("demo")
    demo = write_demo(new_store(tmp), tmp / "artifacts")
    folder = make_report(demo.uri, out_root=tmp / "reports")
    return demo, folder


def test_files_land_in_reports_study_timestamp_and_on_the_parent_run(demo_report) -> None:
    demo, folder = demo_report
    assert folder.parent.name == "demo" and folder.parent.parent.name == "reports"
    assert {path.name for path in folder.iterdir()} == FILES
    logged = {artifact.path for artifact in demo.writer.client.list_artifacts(demo.parent, "report")}
    assert logged == {f"report/{name}" for name in FILES}


def test_table_numbers_match_hand_computations(demo_report) -> None:
    _, folder = demo_report
    table = pd.read_csv(folder / "table.csv").set_index("arm")
    assert list(table.index) == ["baseline", "initializer=he_normal", "activation=relu", "optimizer=adam"]
    assert list(table["n_finished"]) == [3, 3, 2, 1] and list(table["n_planned"]) == [3, 3, 3, 3]
    base = table.loc["baseline"]
    assert base["mean"] == pytest.approx(0.67 / 3)
    assert base["std"] == pytest.approx(math.sqrt(((0.20 - 0.67 / 3) ** 2 + (0.22 - 0.67 / 3) ** 2
                                                   + (0.25 - 0.67 / 3) ** 2) / 2))  # fmt: skip

    he = table.loc["initializer=he_normal"]  # differences 0.20, 0.21, 0.16 by seed
    assert he["mean"] == pytest.approx(1.24 / 3)
    assert (he["delta"], he["ci_low"], he["ci_high"]) == pytest.approx((19.0, 12.42759, 25.57241), abs=1e-5)
    assert he["p_value"] == pytest.approx(0.0064015, abs=1e-7)

    relu = table.loc["activation=relu"]  # seeds 0, 1 only (seed 2 diverged): differences 0.70, 0.71
    half = student_t.ppf(0.975, 1) * 0.005  # sd of differences sqrt(0.00005), se = sd / sqrt(2)
    assert relu["mean"] == pytest.approx(0.915)
    assert relu["n_pairs"] == 2 and relu["test"] == "paired t-test"
    assert (relu["delta"], relu["ci_low"], relu["ci_high"]) == pytest.approx(
        (70.5, 100 * (0.705 - half), 100 * (0.705 + half))
    )
    assert relu["p_value"] == pytest.approx(2 * student_t.sf(0.705 / 0.005, 1))

    # Holm over the two tested arms: min(1, max(2 * 0.0045150, 0.0064015)) for both.
    assert table.loc[["initializer=he_normal", "activation=relu"], "p_holm"].tolist() == pytest.approx(
        [2 * relu["p_value"]] * 2
    )
    assert list(table["verdict"]) == ["reference", "better", "better", "n=1: no CI possible"]

    adam = table.loc["optimizer=adam"]
    assert adam["delta"] == pytest.approx(100 * (0.92 - 0.67 / 3))
    assert math.isnan(adam["ci_low"]) and math.isnan(adam["p_value"])

    # Convergence of initializer=he_normal from its val curves (see HE_CURVES), by hand:
    assert he["best_val_accuracy"] == pytest.approx(0.5)
    assert he["epoch_to_90pct_best"] == pytest.approx((3 + 4 + 2) / 3)
    assert he["val_auc"] == pytest.approx(((0.3 + 0.45 + 0.5) + (0.2 + 0.37 + 0.47) + (0.4 + 0.5 + 0.5)) / 9)


def test_failed_runs_and_parents_never_enter_the_averages(demo_report) -> None:
    _, folder = demo_report
    table = pd.read_csv(folder / "table.csv").set_index("arm")
    # The diverged relu seed logged 0.99 and the parents a decoy 0.0: neither is in a mean.
    assert table.loc["activation=relu", "mean"] == pytest.approx(0.915)
    assert table.loc["baseline", "mean"] == pytest.approx(sum(BASELINE.values()) / 3)
    markdown = (folder / "report.md").read_text()
    assert "diverged \\(FAILED\\)" not in markdown and "diverged (FAILED)" in markdown
    assert "KILLED" in markdown and "not run" in markdown
    assert "9 of 12 planned runs finished; 2 failed or killed (1 diverged), 1 not run" in markdown


def test_markdown_and_html_show_the_table_and_say_how_to_read_it(demo_report) -> None:
    _, folder = demo_report
    markdown = (folder / "report.md").read_text()
    assert "| initializer=he\\_normal | initializer: random\\_uniform → he\\_normal | 3/3 |" in markdown
    assert "+19.00 pp [+12.43, +25.57]".replace("[", "\\[").replace("]", "\\]") in markdown
    assert "no confidence interval or test is possible" in markdown
    assert "divided by E - 1" in markdown
    assert "![Learning curves](learning_curves.png)" in markdown
    page = (folder / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 3
    assert "<td>initializer: random_uniform → he_normal</td>" in page
    assert 'src="learning_curves.png"' not in page  # self-contained


def test_a_study_without_finished_runs_says_so(tmp_path: Path) -> None:
    writer = StudyWriter(new_store(tmp_path), "fresh", tmp_path / "artifacts")
    jobs = [Job("baseline", 0), Job("activation=relu", 0, {"activation": ["sigmoid", "relu"]})]
    parent = writer.launch(jobs)
    writer.child(parent, jobs[1], {"test_accuracy": 0.9}, status="FAILED")
    folder = make_report(writer.client.tracking_uri, study="fresh", out_root=tmp_path / "reports")
    assert {path.name for path in folder.iterdir()} == TEXT_FILES
    for name in ("report.md", "report.html"):
        assert "No finished runs yet: 0 of 2 planned runs have finished" in (folder / name).read_text()
    table = pd.read_csv(folder / "table.csv")
    assert list(table["n_finished"]) == [0, 0]
    assert list(table["verdict"]) == ["reference", "no finished runs"]


def test_user_strings_are_escaped_in_markdown_and_html(tmp_path: Path) -> None:
    nasty = '<script>alert("x")</script>'
    arms = {"baseline": {}, nasty: {"activation": ["sigmoid", "<b>relu</b> & co"]},
            "a|b *c* [l](u) $x$": {"optimizer": ["sgd", "a|b"]}}  # fmt: skip
    writer = StudyWriter(new_store(tmp_path), "esc<&>", tmp_path / "artifacts")
    jobs = [Job(arm, seed, changed) for arm, changed in arms.items() for seed in (0, 1)]
    parent = writer.launch(jobs)
    for number, job in enumerate(jobs):
        writer.child(parent, job, {"test_accuracy": 0.3 + number / 20}, {"val_accuracy": [0.1, 0.2]})
    folder = make_report(writer.client.tracking_uri, parent_run_id=parent, out_root=tmp_path / "reports")
    assert folder.parent.name == "esc"

    page = (folder / "report.html").read_text()
    assert "<script>" not in page and "<b>relu" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "&lt;b&gt;relu&lt;/b&gt; &amp; co" in page
    assert "<h1>Ablation report: esc&lt;&amp;&gt;</h1>" in page

    markdown = (folder / "report.md").read_text()
    assert '\\<script\\>alert("x")\\</script\\>' in markdown
    assert "a\\|b \\*c\\* \\[l\\](u) \\$x\\$" in markdown
    assert "optimizer: sgd → a\\|b" in markdown
    assert "# Ablation report: esc\\<\\&\\>" in markdown
    # Every main-table row still has its 10 cells: no | inside a cell split it.
    rows = [line for line in markdown.splitlines() if line.startswith("| ") and "reference" not in line]
    assert all(line.replace("\\|", "").count("|") == 11 for line in rows[:4])
    assert pd.read_csv(folder / "table.csv")["arm"].tolist()[1] == nasty  # CSV keeps the data as is


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """Headless Chromium with a throwaway profile and no network chatter; skips without one."""
    browser = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if browser is None:
        pytest.skip("no chromium on PATH or at /usr/bin/chromium (Debian: apt-get install chromium)")
    command = [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}", *args,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_html_report_renders_in_headless_chromium(demo_report, tmp_path: Path) -> None:
    _, folder = demo_report
    shot = tmp_path / "shot.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,2000", (folder / "report.html").as_uri())
    assert shot.exists() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)[..., :3]
    assert pixels.shape[:2] == (2000, 1200)
    not_white = (pixels < 0.9).any(axis=2)
    assert not_white.mean() > 0.02  # text, table rules and figures, not a blank page
    assert pixels.std() > 0.05


# Appended to a copy of the report: the widths of the window, the page, the ablation table and
# the box around it, written into the DOM for --dump-dom.
_MEASURE = """<script>
const box = document.querySelector('table').parentElement;
document.body.dataset.layout = JSON.stringify({
  window: window.innerWidth, page: document.documentElement.scrollWidth,
  box: box.clientWidth, table: box.scrollWidth});
</script>"""


@pytest.mark.parametrize("width", [900, 1280])
def test_report_never_scrolls_sideways_its_table_scrolls_in_its_box(demo_report, tmp_path, width) -> None:
    _, folder = demo_report
    measured = tmp_path / "measured.html"
    measured.write_text((folder / "report.html").read_text().replace("</body>", _MEASURE + "</body>"))
    page = chromium(tmp_path, f"--window-size={width},2000", "--dump-dom", measured.as_uri())
    found = re.search(r'data-layout="([^"]+)"', page.stdout)
    assert found, page.stderr[-2000:]
    layout = json.loads(html.unescape(found.group(1)))
    assert layout["window"] == width
    assert layout["page"] <= layout["window"]  # no horizontal page scroll
    assert layout["box"] <= layout["window"]
    if width == 900:  # the ablation table is wider than 900 px: its own box scrolls instead
        assert layout["table"] > layout["box"]
