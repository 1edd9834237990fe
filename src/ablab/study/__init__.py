"""Ablation studies: the study spec and its designs, the jobs and packs they become, the parent
run's bookkeeping, adaptive rounds, and the sweep itself (sweep.py; the ``ablation`` Hydra
sweeper only hands over to it)."""
