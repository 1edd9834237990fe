"""What ``ablab-train`` settles before Hydra starts (checks, the plain sweep's launcher), and how
it ends when its reader goes away."""

from __future__ import annotations

import atexit
import os
import sys
import threading
from collections.abc import Callable, Sequence
from typing import NoReturn

# Flags that only print (help, config, info): they write nothing, anywhere.
_PRINT_ONLY = ("-h", "--help", "--hydra-help", "-c", "--cfg", "-i", "--info", "--shell-completion")


# Command-line keys that choose how a multirun launches: given, ablab leaves the launcher alone.
_LAUNCH_CHOICES = ("hydra/launcher", "study", "hparams_search")


def with_packing_launcher(argv: Sequence[str]) -> list[str]:
    """``argv`` plus ``hydra/launcher=packing`` for a plain multirun (``-m``, no study or search
    preset, no launcher chosen), so its fused runs train in packs.

    On the command line, not in train.yaml: an override there would beat the launcher a study
    preset or a user's own preset chooses.
    """
    multirun = any(a in ("-m", "--multirun") for a in argv)
    chosen = any(a.split("=", 1)[0].lstrip("+~") in _LAUNCH_CHOICES for a in argv if "=" in a)
    return [*argv, "hydra/launcher=packing"] if multirun and not chosen else list(argv)


def read_only_working_directory(argv: Sequence[str], cwd: str | None = None) -> str | None:
    """The problem, in one paragraph, when Hydra and MLflow would have to write in a read-only
    working directory; None when they can (or write elsewhere, or nothing is written)."""
    cwd = cwd or os.getcwd()
    if os.access(cwd, os.W_OK | os.X_OK) or any(a.split("=")[0] in _PRINT_ONLY for a in argv):
        return None
    moved = {a.split("=", 1)[0].lstrip("+") for a in argv if "=" in a}
    if {"hydra.run.dir", "hydra.sweep.dir"} & moved:
        return None  # outputs go elsewhere; a store left in cwd is checked when it is opened
    return (
        f"the working directory {cwd} is read-only, and ablab writes there: Hydra's outputs "
        "(outputs/ for a run, multirun/ for a study or sweep) and, by default, the MLflow store "
        "mlflow.db. Nothing was trained or logged. Run from a folder you can write to, or send "
        "both elsewhere: hydra.run.dir=/writable/run (a run) or hydra.sweep.dir=/writable/sweep "
        "(a study), and tracking.uri=sqlite:////writable/mlflow.db."
    )


def quiet_on_broken_pipe(entry: Callable[[], None]) -> None:
    """Run ``entry``; when stdout's reader closed early (``ablab-train --help | head``), end
    quietly as the Python docs advise instead of printing a BrokenPipeError traceback."""
    try:
        entry()
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)


# ablab-train's exit code for every config error, Hydra's (an unknown key, a bad override) and
# ablab's own (ConfigError): 2, as for a command-line usage error. A failed run exits 1.
CONFIG_ERROR_EXIT = 2


def config_errors_exit_2(entry: Callable[[], None]) -> None:
    """Run ``entry`` (Hydra's main); Hydra ends a config error with exit code 1, ablab with 2.

    Hydra prints the error and calls ``sys.exit(1)`` while handling it, so the exit carries the
    error as its context: a config error's exit becomes ``CONFIG_ERROR_EXIT``.
    """
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from ablab.errors import ConfigError

    config_errors = (HydraException, OmegaConfBaseException, ConfigError)
    try:
        entry()
    except SystemExit as exit_:
        if exit_.code == 1 and isinstance(exit_.__context__, config_errors):
            raise SystemExit(CONFIG_ERROR_EXIT) from None
        raise


def end_without_teardown(entry: Callable[[], None]) -> NoReturn:
    """Run ``entry``, then end the process with its exit code, skipping Python's module teardown.

    Other threads end and are joined and the exit handlers run (log files flushed, temporary
    folders removed), as at a normal exit; only the teardown is left out, which with TensorFlow
    and MLflow loaded takes ~1-2 s and frees nothing the OS does not. An exception other than
    SystemExit propagates: its traceback and a normal exit.
    """
    try:
        entry()
        code: object = 0
    except SystemExit as stop:
        code = stop.code
    if code is None:
        code = 0
    elif not isinstance(code, int):  # sys.exit("message"): printed, status 1, as Python does
        print(code, file=sys.stderr)
        code = 1
    # What the interpreter runs first at exit: the thread-exit hooks (they end the idle workers
    # of thread pools nobody shut down, e.g. MLflow's artifact downloads), then a join of every
    # non-daemon thread. Joining alone would wait forever on such a worker.
    threading._shutdown()
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
