"""A user's conf/ folders are layered over ablab's packaged configs (hydra_plugins.ablab_searchpath)."""

from __future__ import annotations

from pathlib import Path

from ablab.config.packaged import CONFIG_DIR
from conftest import compose_run, run_cli


def write_option(conf, group, name, text):
    (conf / group).mkdir(parents=True, exist_ok=True)
    (conf / group / f"{name}.yaml").write_text(text)


def test_cwd_conf_adds_options_and_overrides_packaged_ones(workdir):
    write_option(workdir / "conf", "optimizer", "lion", "name: lion\nlearning_rate: 0.0003\nargs: {}\n")
    write_option(workdir / "conf", "optimizer", "adam", "name: adam\nlearning_rate: 0.005\nargs: {}\n")
    assert compose_run(["optimizer=lion"])[0].optimizer.name == "lion"
    assert compose_run(["optimizer=adam"])[0].optimizer.learning_rate == 0.005  # the user's adam wins
    assert compose_run(["optimizer=sgd"])[0].optimizer.learning_rate == 0.001  # the rest stay ablab's


def test_search_path_is_env_var_then_cwd_then_ablab_then_config_dir(workdir, monkeypatch, caplog, tmp_path):
    (workdir / "conf").mkdir()
    named, extra = tmp_path / "named", tmp_path / "extra"
    named.mkdir(), extra.mkdir()
    monkeypatch.setenv("ABLAB_CONFIG_DIR", str(named))
    with caplog.at_level("DEBUG", logger="hydra"):  # run_cli's hydra_logging=none sends --info to the log
        assert run_cli(monkeypatch, f"--config-dir={extra}", "--info", "searchpath") == 0
    lines = caplog.text.splitlines()

    def row(path: str) -> int:
        return next(i for i, line in enumerate(lines) if f"file://{path} " in line)

    assert row(named) < row(workdir / "conf") < row(Path(CONFIG_DIR)) < row(extra)
    assert "ablab-user" in lines[row(named)] and "ablab-user" in lines[row(workdir / "conf")]
