"""Deployment formats: ONNX graphs of a trained model and an onnxruntime runner.

* :mod:`.onnx_export`: the encoder and one decoder step as ONNX graphs (fp32, or int8 through
  onnxruntime's dynamic quantisation), with the config and vocabularies;
* :mod:`.onnx_runner`: those graphs behind the model interface the searches use;
* :mod:`.cli`: ``nmtprune export-onnx``; ``nmtprune translate`` and ``evaluate`` take its directory
  as a model (:func:`load_onnx`).

int8 decoding in PyTorch itself is :mod:`nmtprune.decode.int8`. This package sits beside ``prune``,
above training (it loads checkpoints); onnx and onnxruntime are the optional ``onnx`` extra, imported
only when a function here needs them.
"""

from .cli import add_cli
from .onnx_export import META_FILE, OnnxError, export_onnx
from .onnx_runner import OnnxModel, load_onnx

__all__ = ["META_FILE", "OnnxError", "OnnxModel", "add_cli", "export_onnx", "load_onnx"]
