"""Hydra plugin: a user's own conf/ folders layered over ablab's packaged configs."""
