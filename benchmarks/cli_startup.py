"""How fast `ablab-train --help`, `--cfg job` and `--info` answer, beside what loading
TensorFlow costs (what each of them paid before train.py imported it lazily).

    python benchmarks/cli_startup.py            # 3 rounds, median and range per command
    python benchmarks/cli_startup.py --rounds 5

Writes benchmarks/results/cli_startup.json (``--out`` elsewhere).

Each command runs as a fresh process from an empty folder, as a user types it.
"""

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results import record, table

BIN = Path(sys.executable).parent
COMMANDS = {
    "ablab-train --help": [str(BIN / "ablab-train"), "--help"],
    "ablab-train --cfg job": [str(BIN / "ablab-train"), "--cfg", "job"],
    "ablab-train --info": [str(BIN / "ablab-train"), "--info"],
    "ablab-ui --help": [str(BIN / "ablab-ui"), "--help"],
    "python -c 'import keras engine' (TF)": [sys.executable, "-c", "import ablab.run.engines.keras"],
}


def seconds(command: list[str], cwd: str) -> tuple[float, float]:
    """(wall, CPU) seconds of one run; CPU time (user + system) barely moves on a busy machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, capture_output=True, check=True, timeout=300)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, help="the result file (default: benchmarks/results/)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cwd:
        times = {name: [seconds(cmd, cwd) for _ in range(args.rounds)] for name, cmd in COMMANDS.items()}
    header = f"{'command':<40} {'wall median':>11} {'min':>6} {'max':>6} {'CPU median':>11}"
    print(f"{header}   (seconds, {args.rounds} rounds)")
    rows = []
    for name, runs in times.items():
        wall, cpu = [w for w, _ in runs], [c for _, c in runs]
        rows.append([name, statistics.median(wall), min(wall), max(wall), statistics.median(cpu)])
        print(f"{name:<40} {rows[-1][1]:>11.2f} {rows[-1][2]:>6.2f} {rows[-1][3]:>6.2f} {rows[-1][4]:>11.2f}")
    columns = ["command", "wall median (s)", "wall min (s)", "wall max (s)", "CPU median (s)"]
    record("cli_startup", [table(f"Command start-up, {args.rounds} rounds", columns, rows)], path=args.out)


if __name__ == "__main__":
    main()
