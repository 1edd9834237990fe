"""Soak: a study of >= 500 runs (1 epoch, fused, tiny) on sqlite and on the server, a worker killed.

    python benchmarks/soak.py                      # 500 runs, sqlite then the server
    python benchmarks/soak.py --runs 40 --stores sqlite   # a quick look

Per store: launches the study (joblib, 2 workers, fused packs of --pack runs), kills one worker
with SIGKILL once --kill-at of the runs are FINISHED (the launch then ends, its runs KILLED),
launches it again (the resume: dead runs reaped, finished ones skipped), then reports on it.
Prints wall time (both launches), peak memory (summed RSS of the launcher and its workers,
sampled every 0.2 s), runs lost (planned run keys without a FINISHED run: must be 0), runs
trained twice, stale runs left RUNNING (must be 0), and the report's build time.

Writes benchmarks/results/soak.json (``--out`` elsewhere).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from mlflow.tracking import MlflowClient
from results import record, table

from ablab.report import make_report
from ablab.tracking.client import search_all_runs
from ablab.tracking.tags import OWNER_PID, RUN_KEY

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "mlflow-server"
ABLAB_TRAIN = Path(sys.executable).with_name("ablab-train")
ARMS = ["sigmoid", "relu", "tanh", "elu"]

STUDY = """\
# @package _global_
defaults:
  - override /hydra/sweeper: ablation
  - override /hydra/launcher: joblib
study:
  name: soak
  design: ofat
  seeds: {seeds}
  baseline: {{activation: sigmoid}}
  factors: {{activation: [relu, tanh, elu]}}
trainer: {{epochs: 1, verbose: 0, engine: fused}}
model: {{hidden_units: [8]}}
dataset: {{train_discard: 0.9}}
hydra:
  mode: MULTIRUN
  launcher: {{n_jobs: 2}}
  sweeper: {{max_pack_size: {pack}, report: false}}
"""


def tree_rss_mib(root: int) -> float:
    """Summed RSS of a process and its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            children.setdefault(int(stat.read_text().rsplit(")", 1)[1].split()[1]), []).append(
                int(stat.parent.name)
            )
        except (OSError, ValueError, IndexError):
            continue
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total * 4096 / 2**20


def runs_by_status(client: MlflowClient, status: str) -> list:
    experiment = client.get_experiment_by_name("soak")
    if experiment is None:
        return []
    return search_all_runs(client, [experiment.experiment_id], f"attributes.status = '{status}'")


def training_worker(client: MlflowClient, launcher: int) -> int | None:
    """The pid of a worker training runs now: the owner (``ablab.owner.pid``) of a RUNNING run."""
    for run in runs_by_status(client, "RUNNING"):
        pid = int(run.data.tags.get(OWNER_PID, launcher))
        if pid != launcher:
            return pid
    return None


def launch(folder: Path, extra: list[str], client: MlflowClient, kill_at: int | None) -> dict:
    """One launch: wall time, peak memory, and whether (and when) a worker was killed."""
    command = [str(ABLAB_TRAIN), f"--config-dir={folder / 'conf'}", "study=soak"]
    command += [f"hydra.sweep.dir={folder / 'multirun'}", *extra]
    started = time.perf_counter()
    with open(folder / "launch.log", "a") as log:
        process = subprocess.Popen(command, cwd=folder, stdout=log, stderr=subprocess.STDOUT)
    peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], tree_rss_mib(process.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    killed = None
    while process.poll() is None:
        if kill_at is not None and killed is None and len(runs_by_status(client, "FINISHED")) >= kill_at:
            worker = training_worker(client, process.pid)
            if worker is not None:
                killed = (worker, len(runs_by_status(client, "FINISHED")))
                os.kill(worker, signal.SIGKILL)  # as the OOM killer does
        time.sleep(1.0)
    done.set()
    sampler.join()
    wall = time.perf_counter() - started
    return {"wall": wall, "peak": peak[0], "code": process.returncode, "killed": killed}


def soak(
    name: str, folder: Path, extra: list[str], uri: str, runs: int, kill_fraction: float
) -> tuple[list[str], dict[str, Any]]:
    """The store's printed lines, and its figures for the result table."""
    client = MlflowClient(uri)
    first = launch(folder, extra, client, kill_at=int(runs * kill_fraction))
    second = launch(folder, extra, client, kill_at=None)
    experiment = client.get_experiment_by_name("soak")
    every = search_all_runs(client, [experiment.experiment_id])
    children = [r for r in every if RUN_KEY in r.data.tags]
    finished = Counter(r.data.tags[RUN_KEY] for r in children if r.info.status == "FINISHED")
    stale = [r for r in every if r.info.status == "RUNNING"]
    killed = [r for r in every if r.info.status == "KILLED"]
    started = time.perf_counter()
    make_report(uri, study="soak", out_root=folder / "reports")
    report_s = time.perf_counter() - started
    victim = first["killed"]
    kill_text = f"worker {victim[0]} killed after {victim[1]} FINISHED runs" if victim else "no worker killed"
    wall, peak = first["wall"] + second["wall"], max(first["peak"], second["peak"])
    lost, twice = runs - len(finished), sum(n > 1 for n in finished.values())
    lines = [
        f"{name}: {runs} runs planned; launch 1 ({kill_text}) exit {first['code']}, "
        f"{first['wall']:.1f} s; relaunch exit {second['code']}, {second['wall']:.1f} s",
        f"  wall time {wall:.1f} s; peak memory (launcher + workers) {peak:.0f} MiB",
        f"  runs lost {lost}; trained twice {twice}; "
        f"stale runs left RUNNING {len(stale)}; runs ended KILLED {len(killed)}",
        f"  report build {report_s:.1f} s",
    ]
    figures = {
        "runs planned": runs,
        "worker killed after (FINISHED runs)": victim[1] if victim else None,
        "launch 1 exit code": first["code"],
        "launch 1 (s)": first["wall"],
        "relaunch exit code": second["code"],
        "relaunch (s)": second["wall"],
        "wall time (s)": wall,
        "peak memory, launcher + workers (MiB)": peak,
        "runs lost": lost,
        "trained twice": twice,
        "stale runs left RUNNING": len(stale),
        "runs ended KILLED": len(killed),
        "report build (s)": report_s,
    }
    return lines, figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=500, help="a multiple of 4 (4 arms x runs/4 seeds)")
    parser.add_argument("--pack", type=int, default=50, help="most runs per fused pack")
    parser.add_argument("--kill-at", type=float, default=0.3, help="fraction FINISHED when a worker dies")
    parser.add_argument("--stores", nargs="+", default=["sqlite", "server"], choices=["sqlite", "server"])
    parser.add_argument("--out", type=Path, help="the result file (default: benchmarks/results/)")
    args = parser.parse_args()
    seeds = list(range(args.runs // len(ARMS)))
    runs = len(seeds) * len(ARMS)
    work = Path(tempfile.mkdtemp(prefix="ablab-soak-"))
    state = Path(tempfile.mkdtemp(prefix="ablab-soak-mlflow-"))
    state.chmod(0o755)  # PostgreSQL runs as the postgres user when this runs as root
    lines: list[str] = []
    figures: dict[str, dict[str, Any]] = {}  # per store
    try:
        for name in args.stores:
            folder = work / name
            (folder / "conf" / "study").mkdir(parents=True)
            (folder / "conf" / "study" / "soak.yaml").write_text(STUDY.format(seeds=seeds, pack=args.pack))
            if name == "sqlite":
                uri, extra = f"sqlite:///{folder / 'mlflow.db'}", []
            else:
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", 0))
                    port = probe.getsockname()[1]
                started = subprocess.run(
                    [sys.executable, str(SCRIPT), "start", "--port", str(port), "--state-dir", str(state)],
                    capture_output=True, text=True,
                )  # fmt: skip
                if started.returncode != 0:
                    sys.exit(f"scripts/mlflow-server start failed:\n{started.stderr}")
                uri = f"http://127.0.0.1:{port}"
                extra = ["tracking=server", f"tracking.uri={uri}"]
            store_lines, figures[name] = soak(name, folder, extra, uri, runs, args.kill_at)
            print("\n".join(store_lines), flush=True)
            lines += store_lines
    finally:
        subprocess.run([sys.executable, str(SCRIPT), "stop", "--state-dir", str(state)], capture_output=True)
        shutil.rmtree(state, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    setting = f"{runs} runs (4 arms x {len(seeds)} seeds), 1 epoch, fused packs of <= {args.pack}, "
    setting += f"joblib n_jobs=2, one worker SIGKILLed at {args.kill_at:.0%} FINISHED"
    print(f"\nsoak: {setting}")
    print("\n".join(lines))
    rows = [[key, *(store[key] for store in figures.values())] for key in figures[args.stores[0]]]
    record("soak", [table(f"Soak: {setting}", ["", *figures], rows)], path=args.out)


if __name__ == "__main__":
    main()
