"""The study report: from what MLflow holds to an ablation table, figures, Markdown/HTML/CSV.

read.py (MLflow -> pandas) -> studies.py / launch_record.py / sweep.py (which runs answer a
study launch) -> metric.py, convergence.py and ``ablab.stats`` (the numbers), classes.py and
degenerate.py (arms at chance or with zero spread) -> findings.py (one Report) -> figures.py,
cells.py, render.py, latex.py, words.py (the outputs) -> make.py (make_report).
"""

from ablab.errors import MetricNotFound, ReportError, StudyNotFound
from ablab.report.make import make_report

__all__ = ["make_report", "ReportError", "StudyNotFound", "MetricNotFound"]
