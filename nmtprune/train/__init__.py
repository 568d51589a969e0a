from .checkpoint import CheckpointError, load_model, save_checkpoint
from .loop import learning_rate, train

__all__ = ["CheckpointError", "load_model", "save_checkpoint", "learning_rate", "train"]
