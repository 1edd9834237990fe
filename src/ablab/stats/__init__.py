"""The statistics, pure numpy/scipy/statsmodels on plain arrays and frames: comparisons (paired
or Welch t-tests, Holm, verdicts, the ablation table), effect sizes, factorial ANOVA, and the
group-sequential boundaries of adaptive seeds. No MLflow, no TensorFlow: checkable by hand."""
