"""Errors a user can fix by changing a config value, a file or the command line."""


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
