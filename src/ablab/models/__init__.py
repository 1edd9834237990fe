"""Model builders, chosen by ``model._target_`` (conf/model/*.yaml), and the blocks they use.

A builder is a function ``build(blocks, input_shape, outputs, **model_args) -> keras.Model``
(uncompiled): ``blocks`` (``ablab.models.blocks.Blocks``) makes layers from the composed
initializer, activation, normalization, regularization and task groups, so a study ablates a
user's model exactly as it ablates the built-in ``mlp`` and ``cnn``.
"""

from ablab.models.build import build_model, check_model

__all__ = ["build_model", "check_model"]
