"""Is the MLflow tracking server there? Asked once, briefly, before anything trains.

MLflow's own HTTP client retries a dead server for minutes; a study should instead stop at
once with the URI and how to start a server. Only http(s) URIs are checked: a sqlite file or
a database URI is opened by MLflow itself.
"""

from __future__ import annotations

import base64
import json
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


def _request(url: str) -> urllib.request.Request:
    """A GET with the credentials MLflow's client would send ($MLFLOW_TRACKING_USERNAME/PASSWORD)."""
    request = urllib.request.Request(url)
    user, password = os.environ.get("MLFLOW_TRACKING_USERNAME"), os.environ.get("MLFLOW_TRACKING_PASSWORD")
    if user and password:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    return request


def speaks_mlflow(uri: str, timeout_s: float = _ATTEMPT_TIMEOUT_S) -> str | None:
    """None when ``uri`` answers MLflow's REST API (one experiments search), else why not."""
    url = f"{uri.rstrip('/')}/api/2.0/mlflow/experiments/search?max_results=1"
    try:
        with urllib.request.urlopen(_request(url), timeout=timeout_s) as answer:
            json.loads(answer.read() or b"{}")
            return None
    except urllib.error.HTTPError as error:
        if error.code in (401, 403):
            return (
                f"it refuses ablab's credentials (HTTP {error.code}): set MLFLOW_TRACKING_USERNAME and "
                "MLFLOW_TRACKING_PASSWORD to an account of that server"
            )
        return f"it answers, but not as an MLflow tracking server (HTTP {error.code} {error.reason} at {url})"
    except ValueError:
        return f"it answers, but not as an MLflow tracking server ({url} did not return JSON)"
    except (urllib.error.URLError, OSError) as error:
        return f"no answer from its REST API ({getattr(error, 'reason', error)})"


def check_tracking_server(
    uri: str,
    source: str = "tracking.uri",
    wait_s: float | None = None,
    consequence: str = "Nothing was trained or logged.",
) -> None:
    """Raise TrackingUnavailable unless the server at ``uri`` answers within ``wait_s`` seconds.

    ``source`` names where the URI came from, for the message; ``wait_s`` defaults to
    $ABLAB_TRACKING_WAIT_S, else WAIT_S; ``consequence`` tells what was not done.
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
            problem = speaks_mlflow(uri)
            if problem is None:
                return
            raise TrackingUnavailable(
                f"the MLflow tracking server {uri} (set by {source}) is not usable: {problem}. "
                f"{consequence} Check the URI, or {START_HINT}."
            )
        if time.monotonic() + delay >= deadline:
            break
        time.sleep(delay)
        delay = min(delay * 2, 1.0)
    raise TrackingUnavailable(
        f"the MLflow tracking server {uri} (set by {source}) is not reachable: {problem}, "
        f"still after {wait_s:g} s. {consequence} Check the URI, or {START_HINT}."
    )


def uri_source(configured: str | None) -> str:
    """Where resolve_tracking_uri took the URI from: the config key, else the environment."""
    return "tracking.uri" if configured else "$MLFLOW_TRACKING_URI"
