"""Errors the report raises for input a user can fix: a study name, a run id, a metric."""

from __future__ import annotations


class ReportError(ValueError):
    """The report cannot be made as asked; the message says what was asked and what exists."""


class StudyNotFound(ReportError):
    """No study launch matches the given study name or parent run id."""


class MetricNotFound(ReportError):
    """The chosen metric is not logged by the study's runs (or not per epoch when --epoch asks)."""
