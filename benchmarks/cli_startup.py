"""How fast `ablab-train --help`, `--cfg job` and `--info` answer, beside what loading
TensorFlow costs (what each of them paid before train.py imported it lazily).

    python benchmarks/cli_startup.py            # 3 rounds, median and range per command
    python benchmarks/cli_startup.py --rounds 5

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

BIN = Path(sys.executable).parent
COMMANDS = {
    "ablab-train --help": [str(BIN / "ablab-train"), "--help"],
    "ablab-train --cfg job": [str(BIN / "ablab-train"), "--cfg", "job"],
    "ablab-train --info": [str(BIN / "ablab-train"), "--info"],
    "ablab-ui --help": [str(BIN / "ablab-ui"), "--help"],
    "python -c 'import keras engine' (TF)": [sys.executable, "-c", "import ablab.keras_engine"],
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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cwd:
        times = {name: [seconds(cmd, cwd) for _ in range(args.rounds)] for name, cmd in COMMANDS.items()}
    header = f"{'command':<40} {'wall median':>11} {'min':>6} {'max':>6} {'CPU median':>11}"
    print(f"{header}   (seconds, {args.rounds} rounds)")
    for name, runs in times.items():
        wall, cpu = [w for w, _ in runs], [c for _, c in runs]
        print(
            f"{name:<40} {statistics.median(wall):>11.2f} {min(wall):>6.2f} {max(wall):>6.2f} "
            f"{statistics.median(cpu):>11.2f}"
        )


if __name__ == "__main__":
    main()
