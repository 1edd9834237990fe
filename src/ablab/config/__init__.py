"""What a run is made of before anything runs: the typed config schema and the group lists it
yields, where the packaged configs and the cache live, run keys, ``_target_`` checks, tasks."""
