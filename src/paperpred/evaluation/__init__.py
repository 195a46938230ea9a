"""Evaluation beyond a handler's metrics: baselines fitted on the same split."""

from paperpred.evaluation.baselines import Baseline, compute_baselines

__all__ = ["Baseline", "compute_baselines"]
