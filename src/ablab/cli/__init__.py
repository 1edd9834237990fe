"""The commands: ``ablab-train`` (train.py), ``ablab-report`` (report.py), ``ablab-ui`` (ui.py),
and what they do before Hydra starts and after a run ends. Nothing below imports from here."""
