"""One run, or a fused pack of runs, from a composed config to its MLflow record: checks
(validation.py), the pipeline (pipeline.py), ensembles, process settings, and the engines
that fit the models (engines/: keras.py, the reference, and fused/)."""
