"""Neural operators trained on PDE trajectories: a 1-D FNO, its training with on-the-fly
symmetry augmentation, checkpoints, and autoregressive rollout evaluation (DESIGN.md §9).

Plug a symmetry augmentation in as ``train_operator(data, augment=fn)`` where
``fn(batch: Trajectories, generator: torch.Generator) -> Trajectories`` transforms whole
trajectories (per-sample dx, dt, x0, t0 and valid range travel with them).
"""

from pdesym.operators.checkpoints import CHECKPOINT_FORMAT
from pdesym.operators.config import EXTRA_CHANNELS, FNO_PRESETS, WINDOW_STARTS, FNOConfig, get_fno_config
from pdesym.operators.evaluation import RolloutMetrics, evaluate_rollout, normalised_squared_error, rollout
from pdesym.operators.fno import FNO1d, PointwiseLinear, SpectralConv1d
from pdesym.operators.training import (
    DEVICES,
    Augmentation,
    EpochRecord,
    TrainedOperator,
    TrainingProgress,
    cut_windows,
    load_operator,
    resolve_device,
    sample_window_starts,
    train_operator,
)
from pdesym.operators.trajectories import Trajectories, as_trajectories
from pdesym.operators.translation import RandomTranslation, translate

__all__ = [
    "CHECKPOINT_FORMAT",
    "DEVICES",
    "EXTRA_CHANNELS",
    "FNO_PRESETS",
    "WINDOW_STARTS",
    "Augmentation",
    "EpochRecord",
    "FNO1d",
    "FNOConfig",
    "PointwiseLinear",
    "RandomTranslation",
    "RolloutMetrics",
    "SpectralConv1d",
    "TrainedOperator",
    "TrainingProgress",
    "Trajectories",
    "as_trajectories",
    "cut_windows",
    "evaluate_rollout",
    "get_fno_config",
    "load_operator",
    "normalised_squared_error",
    "resolve_device",
    "rollout",
    "sample_window_starts",
    "train_operator",
    "translate",
]
