"""No orphan workers: a job process started by a launcher exits soon after its launcher dies.

joblib's loky workers (and submitit's local jobs) outlive a launcher killed with ``kill -9``:
each holds a TensorFlow process of hundreds of MB, for minutes. ``ablab-train`` names itself
the launcher in the environment its workers inherit; a worker watches it from a daemon thread
and, once it is gone, marks its open runs KILLED and exits.
"""

from __future__ import annotations

import os
import socket
import threading
import time

LAUNCHER_ENV = "ABLAB_LAUNCHER"  # "host:pid" of the ablab-train process that launched the jobs
POLL_S = 1.0
_watching = threading.Event()


def mark_launcher() -> None:
    """Called by ablab-train at startup: processes it starts know whom to outlive by seconds."""
    os.environ[LAUNCHER_ENV] = f"{socket.gethostname()}:{os.getpid()}"


def launcher_pid() -> int | None:
    """The launcher's pid when this process is a job process on the launcher's host, else None."""
    host, _, pid = os.environ.get(LAUNCHER_ENV, "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return None
    return int(pid)


def exit_with_launcher(poll_s: float = POLL_S) -> None:
    """In a job process: start (once) the thread that ends this process when the launcher dies."""
    launcher = launcher_pid()
    if launcher is None or _watching.is_set():
        return
    _watching.set()
    threading.Thread(target=_watch, args=(launcher, os.getppid(), poll_s), daemon=True).start()


def _watch(launcher: int, parent: int, poll_s: float) -> None:
    from ablab.tracking.liveness import HEARTBEAT  # MLflow: imported here, not by `ablab-train --help`

    while os.getppid() == parent and _alive(launcher):
        time.sleep(poll_s)
    # At most a few seconds to record it: a dead store must not keep the orphan alive.
    closer = threading.Thread(target=HEARTBEAT.abandon, args=(f"its launcher (pid {launcher}) died",))
    closer.start()
    closer.join(timeout=5.0)
    os._exit(1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed launcher whose parent has not reaped it yet is a zombie: gone
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True
