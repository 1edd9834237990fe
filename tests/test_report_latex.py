"""``table.tex``: the paper-ready booktabs table every report writes, and ``ablab-report --latex``.

Its structure is checked everywhere; where pdflatex is installed (.ci/run installs it) a minimal
document that inputs it must compile.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ablab.cli.report import main
from ablab.report import make_report
from ablab.report.latex import escape
from test_report_synthetic import Job, StudyWriter, new_store, write_demo

DOCUMENT = r"""\documentclass{article}
\usepackage{booktabs}
\begin{document}
\input{table.tex}
\end{document}
"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("latex")
    demo = write_demo(new_store(tmp), tmp / "artifacts")
    return demo, make_report(demo.uri, out_root=tmp / "reports")


def body_rows(latex: str) -> list[list[str]]:
    """The cells of each row between \\midrule and \\bottomrule."""
    body = latex.split("\\midrule\n", 1)[1].split("\\bottomrule", 1)[0]
    return [[cell.strip() for cell in line.removesuffix("\\\\").split(" & ")] for line in body.splitlines()]


def test_table_tex_is_a_booktabs_table_with_a_row_per_arm(demo) -> None:
    _, folder = demo
    latex = (folder / "table.tex").read_text()
    assert latex.isascii()
    for rule in ("\\toprule", "\\midrule", "\\bottomrule"):
        assert latex.count(rule) == 1
    assert latex.index("\\toprule") < latex.index("\\midrule") < latex.index("\\bottomrule")
    assert "\\begin{table}" in latex and "\\begin{tabular}{lrrrrc}" in latex and "\\label{tab:demo}" in latex
    header = latex.split("\\toprule\n", 1)[1].split("\\\\", 1)[0]
    assert header.split(" & ")[:4] == ["Arm", "$n$", "mean $\\pm$ sd (\\%)", "$\\Delta$ (pp) [95\\% CI]"]
    rows = body_rows(latex)
    assert [row[0] for row in rows] == [
        "baseline", "initializer=he\\_normal", "activation=relu", "optimizer=adam",
    ]  # fmt: skip
    assert [row[1] for row in rows] == ["3", "3", "2", "1"]
    # Means and sds in percent: baseline 0.20, 0.22, 0.25 -> 22.3 +- 2.5; Δ and CI as in table.csv.
    assert rows[0][2:4] == ["22.3 $\\pm$ 2.5", "reference"]
    assert rows[1][3:] == ["$+19.0$ [$+12.4$, $+25.6$]", "0.0090", "$\\uparrow$"]
    assert rows[3][2:] == ["92.0", "$+69.7$ (no CI)", "--", ""]  # n=1: no test, no marker


def test_the_best_mean_over_two_seeds_or_more_is_bold(demo) -> None:
    _, folder = demo
    rows = body_rows((folder / "table.tex").read_text())
    bold = [row[0] for row in rows if row[2].startswith("\\textbf{")]
    # optimizer=adam's single run (0.92) beats activation=relu's mean (0.915), but one run is no mean.
    assert bold == ["activation=relu"] and rows[2][2] == "\\textbf{91.5 $\\pm$ 2.1}"


def test_the_caption_states_test_correction_margin_and_markers(demo) -> None:
    _, folder = demo
    latex = (folder / "table.tex").read_text()
    caption = re.search(r"\\caption\{(.*)\}\n", latex).group(1)
    assert "test\\_accuracy per arm (higher is better)" in caption
    assert "$\\Delta$: arm minus baseline, in percentage points, with a 95\\% $t$-interval" in caption
    assert "(not adjusted for multiplicity)" in caption
    assert "paired $t$-test (pairs matched by seed), Holm-corrected across 2 comparison(s)" in caption
    assert "$\\alpha = 0.05$, equivalence by TOST within $\\pm$1 pp" in caption
    assert caption.endswith("$\\uparrow$ better.")  # the legend of the markers the table uses


def test_arm_names_and_the_study_are_escaped(tmp_path: Path) -> None:
    arms = {"baseline": {}, "drop_out=50%": {"regularization": ["0", "50%"]}, "a&b #1 $x$": {"x": ["a", "b"]}}
    writer = StudyWriter(new_store(tmp_path), "my_study", tmp_path / "artifacts")
    jobs = [Job(arm, seed, changed) for arm, changed in arms.items() for seed in (0, 1, 2)]
    parent = writer.launch(jobs)
    for number, job in enumerate(jobs):
        writer.child(parent, job, {"test_accuracy": 0.3 + number / 50 + (job.seed % 2) / 100})
    folder = make_report(writer.client.tracking_uri, parent_run_id=parent, out_root=tmp_path / "reports")
    latex = (folder / "table.tex").read_text()
    assert [row[0] for row in body_rows(latex)] == ["baseline", "drop\\_out=50\\%", "a\\&b \\#1 \\$x\\$"]
    assert "\\texttt{my\\_study}" in latex
    assert escape("a\\b ~^ <> {x} é") == "a\\textbackslash{}b \\textasciitilde{}\\textasciicircum{} " \
        "\\textless{}\\textgreater{} \\{x\\} ?"  # fmt: skip
    compile_if_possible(folder, tmp_path)


def compile_if_possible(folder: Path, tmp_path: Path) -> None:
    """pdflatex on a minimal article that inputs the table, where pdflatex is installed."""
    pdflatex = shutil.which("pdflatex")
    if pdflatex is None:
        return
    build = tmp_path / "tex"
    build.mkdir()
    shutil.copy(folder / "table.tex", build / "table.tex")
    (build / "doc.tex").write_text(DOCUMENT)
    result = subprocess.run(
        [pdflatex, "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
        cwd=build, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    assert (build / "doc.pdf").read_bytes()[:5] == b"%PDF-"
    assert "Undefined control sequence" not in result.stdout and "Missing" not in result.stdout


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="no pdflatex (texlive-latex-recommended)")
def test_table_tex_compiles_with_pdflatex_and_booktabs(demo, tmp_path: Path) -> None:
    _, folder = demo
    compile_if_possible(folder, tmp_path)


def test_ablab_report_latex_prints_the_table_and_logs_the_file(demo, tmp_path: Path, capsys) -> None:
    study, _ = demo
    main(["demo", "--tracking-uri", study.uri, "--out", str(tmp_path), "--latex"])
    out = capsys.readouterr().out
    (folder,) = (tmp_path / "demo").iterdir()
    table = (folder / "table.tex").read_text()
    assert table in out and out.index("Ablation report: demo") < out.index("\\begin{table}")
    logged = {a.path for a in study.writer.client.list_artifacts(study.parent, "report")}
    assert {"report/table.tex", "report/results.txt"} <= logged
    main(["demo", "--tracking-uri", study.uri, "--out", str(tmp_path / "plain"), "--no-log"])
    assert "\\begin{table}" not in capsys.readouterr().out
