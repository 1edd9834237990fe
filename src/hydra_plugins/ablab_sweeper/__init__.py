"""Hydra plugin: the ablation sweeper (hydra/sweeper=ablation)."""
