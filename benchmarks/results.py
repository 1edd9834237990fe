"""Where a benchmark's figures go: ``benchmarks/results/<name>.json``, with the command, the
machine, the commit and the date, so the docs' performance tables are built from these files
(docs/gen_performance.py) and never typed by hand. The files are committed."""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "benchmarks" / "results"


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> dict[str, Any]:
    """One table of a result file, as the performance page renders it."""
    return {"title": title, "columns": list(columns), "rows": [list(row) for row in rows]}


def record(
    name: str, tables: Sequence[dict[str, Any]], figures: Any = None, path: Path | None = None
) -> Path:
    """Write the result file (default ``benchmarks/results/<name>.json``) and return its path."""
    path = path or RESULTS_DIR / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "benchmark": name,
        "command": " ".join(["python", _relative(sys.argv[0]), *sys.argv[1:]]),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        **_commit(),
        "machine": _machine(),
        "tables": list(tables),
        "figures": figures,
    }
    path.write_text(json.dumps(document, indent=1, default=float) + "\n")
    print(f"\nwrote {path}")
    return path


def _relative(script: str) -> str:
    try:
        return str(Path(script).resolve().relative_to(ROOT))
    except ValueError:
        return script


def _commit() -> dict[str, Any]:
    """The commit measured, and whether the work tree had changes beyond it."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30)
        return done.stdout.strip() if done.returncode == 0 else ""

    dirty = bool(git("status", "--porcelain", "--", "src"))
    return {"commit": git("rev-parse", "--short", "HEAD") or None, "dirty": dirty}


def _machine() -> dict[str, Any]:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(memory, 1),
        "processor": platform.processor() or platform.machine(),
        "system": platform.platform(terse=True),
        "python": platform.python_version(),
    }


def to_markdown(document: dict[str, Any]) -> str:
    """A result file as a page section: what was run, where and when, then its tables."""
    machine = document["machine"]
    commit = document["commit"] or "unknown commit"
    state = " (with uncommitted changes)" if document.get("dirty") else ""
    lines = [
        f"## {document['benchmark']}",
        "",
        f"`{document['command']}` at commit `{commit}`{state}, {document['date'][:10]}; "
        f"{machine['cpus']} CPUs, {machine['memory_gib']} GiB, {machine['processor']}, "
        f"Python {machine['python']}.",
    ]
    for part in document["tables"]:
        columns = part["columns"]
        lines += ["", f"**{_text(part['title'])}**", "", _row(columns), _row(["---"] * len(columns))]
        lines += [_row(row) for row in part["rows"]]
    return "\n".join(lines) + "\n"


def _row(cells: Sequence[Any]) -> str:
    return "| " + " | ".join(_cell(value) for value in cells) + " |"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return _text(str(value))


def _text(text: str) -> str:
    """Plain text in Markdown: a config key's underscores are not emphasis, a bar no column."""
    return "".join(f"\\{char}" if char in "\\`*_|[]<>" else char for char in text)
