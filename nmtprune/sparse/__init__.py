"""Sparse models as plain data, below training: which weights are prunable, masks, the compressed file.

* :mod:`.targets`: the weight-class parameters pruning acts on, in one canonical order;
* :mod:`.masks`: :class:`MaskSet`, ``{param_name: BoolTensor}`` applied in place after each
  optimizer step, and its bit-packed file;
* :mod:`.compressed`: a pruned model stored as bitmask + surviving values.

Training reads and writes these (a checkpoint of a masked run saves its masks; a pruned model may be
stored compressed), and pruning builds them, so they sit below both.
"""

from .compressed import SparseFileError, load_compressed, save_compressed
from .masks import FORMAT, VERSION, MaskFileError, MaskSet
from .targets import class_groups, prunable

__all__ = [
    "MaskSet",
    "MaskFileError",
    "FORMAT",
    "VERSION",
    "SparseFileError",
    "save_compressed",
    "load_compressed",
    "prunable",
    "class_groups",
]
