"""ablab: config-driven ablation studies for Keras models, tracked in MLflow."""

__version__ = "0.1.0"
