"""Hyperparameter search on Optuna: the work of the ``search`` Hydra sweeper (conf/hparams_search/).

    settings.py     what ``hydra.sweeper`` may say, checked before any trial trains
    space.py        ``hydra.sweeper.params`` (Hydra's override grammar) -> Optuna distributions
    samplers.py     the Optuna sampler a config names
    sweep.py        the ask/tell loop: trials in batches of ``n_jobs`` through Hydra's launcher
    parent_run.py   the search's parent run in MLflow: settings, best trial, importances
    importance.py   parameter importances (fANOVA, PED-ANOVA)
    results.py      the best trial and importances: printed and written to optimization_results.yaml

Every trial is an ordinary ablab run. ``settings`` imports no Optuna: the Hydra plugin
(``hydra_plugins.ablab_search``) loads it at start-up, ``ablab-train --help`` included.
"""
