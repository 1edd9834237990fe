"""The fused engine (``trainer.engine=fused``): many Keras models trained side by side in one graph.

Keras ``fit`` spends most of a small model's time on per-step overhead; one ``tf.function`` call
per epoch for K models pays it once for all of them (docs: guide/engines.md, development/performance.md).
"""


def __getattr__(name: str):
    """``fit_models`` (``ablab.run.engines.fused.fit``), imported when first asked for: planning
    imports this package's TensorFlow-free modules (``support``, ``pack_file``) without it."""
    if name == "fit_models":
        from ablab.run.engines.fused.fit import fit_models

        return fit_models
    raise AttributeError(name)
