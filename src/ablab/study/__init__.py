"""Ablation studies: designs, job plans and their bookkeeping in MLflow."""
