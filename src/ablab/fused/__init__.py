"""The fused engine (``trainer.engine=fused``): many Keras models trained side by side in one graph.

Keras ``fit`` spends most of a small model's time on per-step overhead; one ``tf.function`` call
per epoch for K models pays it once for all of them (README "Engines" and "Performance").
"""
