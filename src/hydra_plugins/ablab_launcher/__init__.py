"""Hydra plugin: the packing launcher (hydra/launcher=packing, the default of ablab-train)."""
