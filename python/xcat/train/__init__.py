"""Training of two-tower models: config, batches and loss steps, the loop, feedback updates.

Importing :mod:`xcat.train` imports PyTorch.
"""

from xcat.train.config import SAMPLING, TrainConfig
from xcat.train.loop import FitResult, fit, resolve_device
from xcat.train.steps import LOSS_STEPS, Batch, BatchSource, LossInputs, SequenceSource, train_step

# Binding the name after the submodule import makes ``xcat.train.update`` the
# function (``xcat.train.update(model, events)``); ``from xcat.train.update
# import ...`` still reads the module.
from xcat.train.update import UpdateReport, check_events, grow, update

__all__ = [
    "LOSS_STEPS",
    "SAMPLING",
    "Batch",
    "BatchSource",
    "SequenceSource",
    "FitResult",
    "LossInputs",
    "TrainConfig",
    "UpdateReport",
    "check_events",
    "fit",
    "grow",
    "resolve_device",
    "train_step",
    "update",
]
