"""The user-facing error types: the CLI prints these as one clear line and exits non-zero."""
from .config import ConfigError
from .data.corpora import DataError
from .prune.export import SparseFileError
from .prune.masks import MaskFileError
from .prune.units.groups import UnitError
from .train.checkpoint import CheckpointError
from .train.loop import TrainingError

KNOWN_ERRORS = (ConfigError, DataError, CheckpointError, MaskFileError, SparseFileError, UnitError,
                TrainingError)
