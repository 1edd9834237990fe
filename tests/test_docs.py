"""The guide's samples are real: every ``$ ablab-train ...`` line composes with the shipped
configs, every Python block runs, and a block marked ``<!-- output-checked -->`` prints what the
page shows. A sample that drifts from the code fails here, not in a reader's terminal.

Markers, on the line before a fenced block: ``<!-- not-run -->`` (a fragment: skipped),
``<!-- output-checked -->`` (the block's one command is run; its output must match the block's).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser

from conftest import compose_run

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs" / "guide").glob("*.md")), ROOT / "docs" / "index.md"]
BIN = Path(sys.executable).parent
FENCE = re.compile(r"^(?:<!-- (?P<marker>[^>]*?) -->\n)?```(?P<lang>\w*)\n(?P<body>.*?)^```", re.M | re.S)
# ablab-train's own flags (Hydra's): they change what is printed, not what is composed.
FLAGS_WITH_VALUE = {"--cfg", "-c", "--package", "-p", "--info", "-i"}
FLAGS = {"-m", "--multirun", "--help", "-h", "--hydra-help", "--resolve"}


@dataclass(frozen=True)
class Block:
    page: str
    lang: str
    body: str
    marker: str

    def __str__(self) -> str:
        return f"{self.page}: {self.body.splitlines()[0][:80]}"


def blocks(lang: str) -> list[Block]:
    found = []
    for page in PAGES:
        text = page.read_text()
        for match in FENCE.finditer(text):
            if match["lang"] == lang and (match["marker"] or "") != "not-run":
                found.append(Block(str(page.relative_to(ROOT)), lang, match["body"], match["marker"] or ""))
    return found


# A command line: ``$ [VAR=value ...] [path/]ablab-train ...``
TRAIN_LINE = re.compile(r"^\$ (?P<env>(?:\w+=\S+ )*)(?P<command>ablab-train\b.*)$")


def train_commands() -> list[tuple[Block, str]]:
    return [
        (block, line[2:])
        for block in blocks("console")
        for line in block.body.splitlines()
        if TRAIN_LINE.match(line)
    ]


def composed_overrides(command: str) -> list[str]:
    """The overrides ``command`` composes: flags dropped, each sweep at its first value."""
    words, overrides = shlex.split(command)[1:], []
    while words:
        word = words.pop(0)
        if word in FLAGS_WITH_VALUE:
            if words and "=" not in words[0]:
                words.pop(0)
        elif word not in FLAGS:
            overrides.append(word)
    parsed = OverridesParser.create().parse_overrides(overrides)
    first = []
    for override, text in zip(parsed, overrides, strict=True):
        if override.is_sweep_override():
            prefix = text[: len(text) - len(text.lstrip("+~"))]
            text = f"{prefix}{override.key_or_group}={next(override.sweep_string_iterator())}"
        first.append(text)
    return first


def _command_id(value: object) -> str:
    return value if isinstance(value, str) else ""


@pytest.mark.parametrize(("block", "command"), train_commands(), ids=_command_id)
def test_every_ablab_train_command_in_the_docs_composes(block, command, monkeypatch):
    """From the repository top, with the line's environment (``ABLAB_CONFIG_DIR=examples/conf``)."""
    monkeypatch.chdir(ROOT)
    line = TRAIN_LINE.match(f"$ {command}")
    for setting in line["env"].split():
        monkeypatch.setenv(*setting.split("=", 1))
    compose_run(composed_overrides(line["command"]))  # raises on an unknown group, option or key


@pytest.mark.parametrize("block", blocks("python"), ids=str)
def test_every_python_block_in_the_docs_runs(block, tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", block.body], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"{block}\n{done.stderr[-3000:]}"


OUTPUT_CHECKED = [block for block in blocks("console") if block.marker == "output-checked"]


@pytest.mark.parametrize("block", OUTPUT_CHECKED, ids=str)
def test_a_sample_output_in_the_docs_is_what_the_command_prints(block, tmp_path):
    command, *shown = block.body.rstrip("\n").splitlines()
    assert command.startswith("$ ") and not any(line.startswith("$ ") for line in shown), block
    words = shlex.split(command[2:])
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(words, cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    printed = [line.rstrip() for line in done.stdout.rstrip("\n").splitlines()]
    assert printed == [line.rstrip() for line in shown]


def test_the_docs_have_commands_python_and_a_checked_output():
    """The three checks above have something to check (a renamed marker must not empty them)."""
    assert len(train_commands()) >= 10 and blocks("python") and OUTPUT_CHECKED
