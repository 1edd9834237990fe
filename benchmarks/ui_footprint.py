"""What the MLflow UI costs on a local store: plain `mlflow ui` (the old README recipe) beside
`ablab-ui` (one worker, job execution off). Processes, resident memory and start-up time.

    python benchmarks/ui_footprint.py

Each server starts on a free loopback port over the same fresh sqlite store; once `/health`
answers and a few seconds have passed (workers spawn after the first answer), the server's
process tree is read from /proc (Linux). Everything started is stopped.

Writes benchmarks/results/ui_footprint.json (``--out`` elsewhere).
"""

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from results import record, table

BIN = Path(sys.executable).parent
SETTLE_S = 5.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def tree(root: int) -> list[int]:
    """``root`` and its descendants, from /proc/<pid>/stat's parent ids."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def measure(command: list[str], port: int, env: dict[str, str]) -> tuple[float, int, float]:
    """(seconds to the first /health answer, processes, resident MiB) of a server."""
    started = time.perf_counter()
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.perf_counter() - started > 180:
                    raise RuntimeError(f"{command[0]} did not start") from None
                time.sleep(0.3)
        answered = time.perf_counter() - started
        time.sleep(SETTLE_S)
        pids = tree(server.pid)
        return answered, len(pids), sum(rss_mib(pid) for pid in pids)
    finally:
        pids = tree(server.pid)
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        for pid in pids[1:]:  # any worker its parent left behind
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="the result file (default: benchmarks/results/)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        uri = f"sqlite:///{Path(folder) / 'mlflow.db'}"
        create = f"from mlflow.tracking import MlflowClient; MlflowClient({uri!r}).search_experiments()"
        subprocess.run([sys.executable, "-c", create], check=True, capture_output=True)
        env = {k: v for k, v in os.environ.items() if k != "MLFLOW_SERVER_ENABLE_JOB_EXECUTION"}
        rows = []
        commands = {
            "mlflow ui": [str(BIN / "mlflow"), "ui", "--backend-store-uri", uri, "--port"],
            "ablab-ui": [str(BIN / "ablab-ui"), "--no-browser", "--tracking-uri", uri, "--port"],
        }
        for name, command in commands.items():
            port = free_port()
            rows.append((name, *measure([*command, str(port)], port, env)))
    print(f"{'server':<12} {'first answer s':>15} {'processes':>10} {'resident MiB':>13}")
    for name, answered, processes, mib in rows:
        print(f"{name:<12} {answered:>15.1f} {processes:>10d} {mib:>13.0f}")
    columns = ["server", "first answer (s)", "processes", "resident (MiB)"]
    title = f"mlflow ui beside ablab-ui on a fresh sqlite store, read {SETTLE_S:g} s after the first answer"
    record("ui_footprint", [table(title, columns, rows)], path=args.out)


if __name__ == "__main__":
    main()
