"""Compressed models for real: pruning mask + quantised values + positions, entropy-coded with zstd.

* :mod:`.quantised`: the quantised model as plain data, and its dequantisation;
* :mod:`.int8`: per-row symmetric int8; :mod:`.kmeans`: per-class weight sharing (Deep Compression);
* :mod:`.quantise`: a model's weight classes through either;
* :mod:`.finetune`: a few steps of centroid training (the gradient of a centroid is its members' sum);
* :mod:`.positions`: bitmask or relative indices, whichever codes smaller, per matrix;
* :mod:`.container`: the file (zstd frames) and what each byte is for;
* :mod:`.accounting`: bits per weight per class and in total, and size against fp32 dense;
* :mod:`.directory`: ``nmtprune compress``'s output directory, read back by
  :func:`nmtprune.train.checkpoint.load_model`, so evaluate and translate take it as it is.

It sits below training (which loads the directories) and uses only models, sparse and data.
"""

from .accounting import BLEU_NOTE, format_report
from .container import CompressedFileError, decode, encode
from .directory import COMPRESSED_FILE, REPORT_FILE, check_options, compress_directory, read_quantised, read_state
from .finetune import finetune_centroids, mean_loss, training_batches
from .quantise import quantise_model
from .quantised import METHODS, QuantisedModel, QuantisedTensor

__all__ = [
    "BLEU_NOTE",
    "COMPRESSED_FILE",
    "REPORT_FILE",
    "METHODS",
    "CompressedFileError",
    "QuantisedModel",
    "QuantisedTensor",
    "check_options",
    "compress_directory",
    "decode",
    "encode",
    "finetune_centroids",
    "format_report",
    "mean_loss",
    "quantise_model",
    "read_quantised",
    "read_state",
    "training_batches",
]
