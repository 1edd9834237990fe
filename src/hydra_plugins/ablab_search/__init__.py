"""Hydra plugin: the search sweeper (hydra/sweeper=search), a hyperparameter search on Optuna."""
