"""Every error a user can fix by changing a config value, a file, the command line or a report
flag: one hierarchy for the whole package, caught by the entry points and shown in one paragraph."""


class ConfigError(ValueError):
    """A config value is invalid: the message names the key, the bad value and what is allowed."""


class DatasetUnavailable(RuntimeError):
    """A dataset cannot be loaded (file missing, download impossible) and how to get around it."""


class Diverged(RuntimeError):
    """Training produced a NaN or infinite loss and was stopped early."""


class TrackingUnavailable(RuntimeError):
    """The MLflow tracking server does not answer: the message names the URI and how to start one."""


class StudyBusy(RuntimeError):
    """Another live launch of the same study holds its lease: a second one would train twice."""


class ReportError(ValueError):
    """The report cannot be made as asked; the message says what was asked and what exists."""


class StudyNotFound(ReportError):
    """No study launch matches the given study name or parent run id."""


class MetricNotFound(ReportError):
    """The chosen metric is not logged by the study's runs (or not per epoch when --epoch asks)."""
