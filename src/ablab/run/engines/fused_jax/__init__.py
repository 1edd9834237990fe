"""The fused engine on the JAX backend: the models of a pack that share an architecture train as
one ``jax.jit`` of a whole epoch, ``jax.vmap`` over their stacked variables (docs:
guide/engines.md, development/performance.md)."""


def __getattr__(name: str):
    """``fit_models`` (``ablab.run.engines.fused_jax.fit``), imported when first asked for: the
    package imports no JAX until a pack trains."""
    if name == "fit_models":
        from ablab.run.engines.fused_jax.fit import fit_models

        return fit_models
    raise AttributeError(name)
