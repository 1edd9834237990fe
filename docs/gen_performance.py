"""Builds the Benchmarks page from benchmarks/results/*.json when the site is built (the
mkdocs-gen-files plugin runs this): the measured files are the only source of its numbers."""

import json
import sys
from pathlib import Path

import mkdocs_gen_files

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
from results import to_markdown  # noqa: E402 - benchmarks/ is not a package

INTRO = """# Benchmarks

Generated from the result files in `benchmarks/results/` when the site is built; each benchmark
writes its own file (see [Performance](performance.md) for what each one measures and how to
run it). A benchmark that has no result file yet has no section here.
"""

with mkdocs_gen_files.open("development/benchmarks.md", "w") as page:
    files = sorted(BENCHMARKS.glob("results/*.json"))
    sections = [to_markdown(json.loads(path.read_text())) for path in files]
    page.write("\n".join([INTRO, *sections]))
