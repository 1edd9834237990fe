"""The MLflow tracking server (scripts/mlflow-server) against the local sqlite store.

    python benchmarks/tracking_server.py               # the tiny study, 1 epoch, 3 rounds
    python benchmarks/tracking_server.py --epochs 5 --seeds 0 1 2 --rounds 2

Starts PostgreSQL + `mlflow server` in a fresh folder (first start: cluster, database and
MLflow's schema are created; second start: an existing database), reads their memory, then
runs the same study (2 arms x N seeds, joblib, 2 jobs) into a sqlite store and through the
server, alternating, for a few rounds (the first sqlite round also creates its store), and
prints the wall times. Stops everything it started.

Writes benchmarks/results/tracking_server.json (``--out`` elsewhere).
"""

import argparse
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from results import record, table

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "mlflow-server"
ABLAB_TRAIN = Path(sys.executable).with_name("ablab-train")

STUDY = """\
# @package _global_
defaults:
  - override /hydra/sweeper: ablation
  - override /hydra/launcher: joblib
study:
  name: bench
  design: ofat
  seeds: {seeds}
  baseline: {{activation: sigmoid}}
  factors: {{activation: [relu]}}
trainer: {{epochs: {epochs}, verbose: 0}}
model: {{hidden_units: [8]}}
hydra:
  mode: MULTIRUN
  launcher: {{n_jobs: 2}}
"""

# A process's line of `scripts/mlflow-server status`: "postgres: running, pid ..., RSS 41 MiB, PSS 30 MiB"
MEMORY = re.compile(r"^(postgres|mlflow server): .*RSS (\d+) MiB, PSS (\d+) MiB", re.MULTILINE)


def server(*args: str) -> str:
    result = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True)
    if result.returncode not in (0, 3):
        sys.exit(f"scripts/mlflow-server {args[0]} failed:\n{result.stderr}")
    return result.stdout


def timed_start(port: int, state: Path) -> float:
    started = time.perf_counter()
    server("start", "--port", str(port), "--state-dir", str(state))
    return time.perf_counter() - started


def seconds(walls: list[float]) -> str:
    return ", ".join(f"{wall:.1f}" for wall in walls)


def run_study(folder: Path, extra: list[str]) -> tuple[float, float]:
    """(command wall time, the launch time the study prints: "Study NAME launch took S s")."""
    started = time.perf_counter()
    result = subprocess.run(
        [str(ABLAB_TRAIN), f"--config-dir={folder / 'conf'}", "study=bench", "hydra.sweeper.report=false",
         f"hydra.sweep.dir={folder / 'multirun'}", *extra],
        cwd=folder, capture_output=True, text=True,
    )  # fmt: skip
    wall = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"study failed:\n{result.stderr[-3000:]}")
    return wall, float(re.search(r"launch took ([\d.]+) s", result.stdout).group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--rounds", type=int, default=3, help="studies per store, alternating")
    parser.add_argument("--out", type=Path, help="the result file (default: benchmarks/results/)")
    args = parser.parse_args()

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    state = Path(tempfile.mkdtemp(prefix="ablab-bench-mlflow-"))
    state.chmod(0o755)  # PostgreSQL runs as the postgres user when this runs as root
    work = Path(tempfile.mkdtemp(prefix="ablab-bench-"))
    try:
        first = timed_start(port, state)
        server("stop", "--state-dir", str(state))
        second = timed_start(port, state)
        memory = server("status", "--state-dir", str(state))
        uri = f"http://127.0.0.1:{port}"
        stores = {"sqlite": [], "server": ["tracking=server", f"tracking.uri={uri}"]}
        walls: dict[str, list[tuple[float, float]]] = {name: [] for name in stores}
        for name in stores:
            (work / name / "conf" / "study").mkdir(parents=True)
            study = STUDY.format(seeds=list(args.seeds), epochs=args.epochs)
            (work / name / "conf" / "study" / "bench.yaml").write_text(study)
        for round_ in range(args.rounds):
            for name, extra in stores.items():  # a new study name each round: nothing is skipped
                walls[name].append(run_study(work / name, [*extra, f"study.name=bench{round_}"]))
    finally:
        server("stop", "--state-dir", str(state))
        shutil.rmtree(state, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)

    runs = 2 * len(args.seeds)
    print(f"server start-up: {first:.1f} s first (creates cluster, database, schema), {second:.1f} s again")
    print(textwrap.indent(memory.strip(), "  "))
    setting = f"2 arms x {len(args.seeds)} seeds = {runs} runs, {args.epochs} epoch(s), joblib n_jobs=2"
    print(f"study: {setting}")
    study_rows, command_rows = [], []
    for name, rounds in walls.items():
        commands, studies = [wall for wall, _ in rounds], [study for _, study in rounds]
        median = statistics.median(studies)
        print(f"  {name:6s}: study (its printed launch time) {seconds(studies)} s, median {median:.1f} s")
        print(f"  {'':6s}  whole command {seconds(commands)} s")
        study_rows.append([name, *studies, median])
        command_rows.append([name, *commands])
    start_rows = [["first (creates cluster, database, schema)", first], ["again", second]]
    memory_rows = [[name, float(rss), float(pss)] for name, rss, pss in MEMORY.findall(memory)]
    columns = ["store", *(f"round {i + 1} (s)" for i in range(args.rounds))]
    tables = [
        table("Server start-up", ["start", "seconds"], start_rows),
        table("Server memory after the second start", ["process", "RSS (MiB)", "PSS (MiB)"], memory_rows),
        table(f"The launch time the study prints: {setting}", [*columns, "median (s)"], study_rows),
        table(f"Whole command wall time: {setting}", columns, command_rows),
    ]
    record("tracking_server", tables, path=args.out)


if __name__ == "__main__":
    main()
