"""The study report: from what MLflow holds to an ablation table, figures, Markdown/HTML/CSV.

read.py (MLflow -> pandas) -> studies.py / launch.py (which runs answer a study launch) ->
metric.py, convergence.py, stats.py (the numbers) -> summary.py (one Report) ->
figures.py, cells.py, render.py (the outputs) -> build.py (make_report) -> cli.py.
"""

from ablab.report.build import make_report
from ablab.report.errors import MetricNotFound, ReportError, StudyNotFound

__all__ = ["make_report", "ReportError", "StudyNotFound", "MetricNotFound"]
