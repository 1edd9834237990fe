"""The fused engine: many same-shaped MLPs trained side by side in one TensorFlow graph.

Keras ``fit`` spends most of a small MLP's time on per-step overhead; stacking K models along
a leading axis pays that overhead once for all K (see issue #8 and README "Performance").
"""
