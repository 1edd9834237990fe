"""The engines that fit K models on one dataset (contract.py says what they are given and give
back): ``keras`` (``model.fit``, one model after another) and ``fused`` (side by side in one
graph). ``trainer.engine`` names the module; ``ablab.config.schema.ENGINES`` lists them."""
