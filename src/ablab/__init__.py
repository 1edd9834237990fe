"""ablab: config-driven ablation studies for Keras models, tracked in MLflow.

The package by layer; each imports only from the layers below it (tests/test_layers.py):

    cli/        the commands: ablab-train, ablab-report, ablab-ui
    study/      a study: spec, designs, jobs, packs, parent run, adaptive rounds, the sweep
    search/     a hyperparameter search on Optuna: space, sampler, ask/tell loop, importances
    report/     MLflow -> the ablation table, figures, Markdown/HTML/CSV
    run/        one run or a pack: checks, the pipeline, engines/ (keras, fused)
    tracking/   MLflow: client, what a run records, tags, store, liveness, leases
    models/     model builders and the blocks they compose
    datasets/   loaders, splits, input scaling
    stats/      pure statistics (no MLflow, no TensorFlow)
    config/     the typed schema, group lists, run keys, packaged configs
    errors.py   every error a user can fix; _compat.py: the private APIs ablab relies on

The Hydra plugins (``hydra_plugins.ablab_*``) are thin adapters over ``study``, ``search`` and ``run``.
"""

__version__ = "0.1.0"
