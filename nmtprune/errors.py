"""The user-facing error types: the CLI prints these as one clear line and exits non-zero."""
from .config import ConfigError
from .data.corpora import DataError
from .train.checkpoint import CheckpointError

KNOWN_ERRORS = (ConfigError, DataError, CheckpointError)
