"""``ablab-report``: the report of a study launch from the command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

from ablab.errors import ReportError, TrackingUnavailable
from ablab.report.make import make_report
from ablab.report.metric import EPOCH_CHOICES
from ablab.report.studies import StudyIndex, open_client
from ablab.run.runtime import quiet_console
from ablab.stats.comparisons import ALPHA
from ablab.tracking.client import resolve_tracking_uri
from ablab.tracking.server_check import check_tracking_server, uri_source


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ablab-report",
        description="Ablation table, figures and statistics of a study launch, from MLflow to "
        "reports/<study>/<timestamp>/ (report.md, report.html, table.csv, table.tex, results.txt, PNGs), "
        "also logged "
        "under report/ on the study's parent run.",
    )
    p.add_argument("study", nargs="?", help="study (= experiment) name; default: the latest study launch")
    p.add_argument("--run-id", dest="parent_run_id", help="a study launch's parent run id")
    p.add_argument(
        "--sweep",
        metavar="EXPERIMENT",
        help="report a plain Hydra multirun (ablab-train -m ...) logged to this experiment, not a study",
    )
    p.add_argument(
        "--sweep-id",
        metavar="ID",
        help="with --sweep: which multirun of the experiment (its ablab.launch tag; a prefix is enough; "
        "default: the latest multirun; 'all': every plain run together)",
    )
    p.add_argument(
        "--reference", help="with --sweep: the reference arm, e.g. activation=sigmoid (default: the first)"
    )
    p.add_argument("--tracking-uri", help="MLflow store; default: $MLFLOW_TRACKING_URI, else ./mlflow.db")
    p.add_argument(
        "--metric", help="any logged metric (default: the study's study.metric, else test_accuracy)"
    )
    p.add_argument(
        "--epoch", choices=EPOCH_CHOICES, help="for per-epoch metrics: last (default) or best epoch"
    )
    direction = p.add_mutually_exclusive_group()
    direction.add_argument("--higher-is-better", dest="higher_is_better", action="store_true", default=None)
    direction.add_argument(
        "--lower-is-better",
        dest="higher_is_better",
        action="store_false",
        help="default: the study's study.direction, else lower for names with "
        "loss/error/seconds/time/param_count",
    )
    p.add_argument("--alpha", type=float, default=ALPHA, help=f"significance level (default {ALPHA})")
    p.add_argument(
        "--margin",
        type=float,
        help="equivalence margin in the metric's units (default: the study's study.margin, else 0.01 "
        "for accuracies, 1%% of the reference mean otherwise)",
    )
    p.add_argument("--out", default="reports", type=Path, help="output root folder (default: reports)")
    p.add_argument("--no-log", action="store_true", help="do not log the report to the parent run")
    p.add_argument("--latex", action="store_true", help="also print the LaTeX table (table.tex, booktabs)")
    p.add_argument("--list", action="store_true", help="list the studies in the store and exit")
    return p


def main(argv: list[str] | None = None) -> None:
    quiet_console()  # no MLflow download bars while the report reads its artifacts
    args = parser().parse_args(argv)
    if args.parent_run_id is not None and not args.parent_run_id.strip():
        _fail(
            "--run-id is empty; give a study launch's parent run id (the study prints it; "
            "`ablab-report --list` shows the latest of each study), or leave --run-id out for the "
            "latest launch."
        )
    uri = resolve_tracking_uri(args.tracking_uri, Path.cwd())
    try:
        source = "--tracking-uri" if args.tracking_uri else uri_source(None)
        check_tracking_server(uri, source, consequence="No report was written.")
        if args.list:
            index = StudyIndex(open_client(uri))
            print("\n".join(index.summary()) or f"no studies in {uri}")
            return
        make_report(
            uri,
            parent_run_id=args.parent_run_id,
            study=args.study,
            metric=args.metric,
            out_root=args.out.expanduser(),
            epoch=args.epoch,
            higher_is_better=args.higher_is_better,
            alpha=args.alpha,
            margin=args.margin,
            sweep=args.sweep,
            sweep_id=args.sweep_id,
            reference=args.reference,
            log_to_mlflow=not args.no_log,
            echo=True,
            latex=args.latex,
        )
    except (ReportError, TrackingUnavailable) as error:
        _fail(str(error))
    except OSError as error:
        _fail(f"cannot write the report under {args.out}: {error}. Choose a folder you can write with --out.")


def _fail(message: str) -> NoReturn:
    print(f"ablab-report: {message}", file=sys.stderr)
    sys.exit(2)


if __name__ == "__main__":
    main()
