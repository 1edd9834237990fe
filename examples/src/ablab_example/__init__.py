"""An ablab user project: a model builder (``models``) and a data loader (``data``) that
ablab calls through ``_target_`` in this project's ``conf/``."""
