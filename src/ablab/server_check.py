"""Is the MLflow tracking server there? Asked once, briefly, before anything trains.

MLflow's own HTTP client retries a dead server for minutes; a study should instead stop at
once with the URI and how to start a server. Only http(s) URIs are checked: a sqlite file or
a database URI is opened by MLflow itself.
"""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.request

from ablab.errors import TrackingUnavailable

# How long to keep asking: a server that is just starting gets a few seconds.
WAIT_S = 5.0
WAIT_ENV = "ABLAB_TRACKING_WAIT_S"  # overrides WAIT_S (a slow cluster network: more)
_ATTEMPT_TIMEOUT_S = 2.0

START_HINT = (
    "start one with `scripts/mlflow-server start` (PostgreSQL-backed, prints its URI; "
    "`--port N` for another port), or log locally with tracking=sqlite"
)


def is_http(uri: str) -> bool:
    return uri.startswith(("http://", "https://"))


def probe(uri: str, timeout_s: float = _ATTEMPT_TIMEOUT_S) -> str | None:
    """None when an MLflow server answers ``GET <uri>/health``, else why it did not."""
    try:
        with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=timeout_s):
            return None
    except urllib.error.HTTPError as error:
        if error.code < 500:
            return None  # something answers (an auth proxy, a path prefix): let MLflow talk to it
        return f"it answers HTTP {error.code} {error.reason}"
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        return f"no answer ({reason})"


def check_tracking_server(uri: str, source: str = "tracking.uri", wait_s: float | None = None) -> None:
    """Raise TrackingUnavailable unless the server at ``uri`` answers within ``wait_s`` seconds.

    ``source`` names where the URI came from, for the message; ``wait_s`` defaults to
    $ABLAB_TRACKING_WAIT_S, else WAIT_S.
    """
    if not is_http(uri):
        return
    if wait_s is None:
        wait_s = float(os.environ.get(WAIT_ENV) or WAIT_S)
    deadline = time.monotonic() + wait_s
    delay = 0.25
    while True:
        problem = probe(uri, timeout_s=min(_ATTEMPT_TIMEOUT_S, max(0.1, deadline - time.monotonic())))
        if problem is None:
            return
        if time.monotonic() + delay >= deadline:
            break
        time.sleep(delay)
        delay = min(delay * 2, 1.0)
    raise TrackingUnavailable(
        f"the MLflow tracking server {uri} (set by {source}) is not reachable: {problem}, "
        f"still after {wait_s:g} s. Nothing was trained or logged. Check the URI, or {START_HINT}."
    )


def uri_source(configured: str | None) -> str:
    """Where resolve_tracking_uri took the URI from: the config key, else the environment."""
    return "tracking.uri" if configured else "$MLFLOW_TRACKING_URI"
