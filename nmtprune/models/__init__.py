from .attention import GlobalAttention
from .lstm_stack import LSTMStack
from .seq2seq import DecoderState, Encoded, Seq2Seq, nll_loss
from .trace import ColumnSquares, Gram, Trace, trace_batch, trace_batches, traced_params
from .weight_classes import GATES, WeightClass, class_names, gate_blocks, weight_classes

__all__ = [
    "GlobalAttention",
    "LSTMStack",
    "Seq2Seq",
    "DecoderState",
    "Encoded",
    "nll_loss",
    "WeightClass",
    "weight_classes",
    "class_names",
    "gate_blocks",
    "GATES",
    "Trace",
    "trace_batch",
    "trace_batches",
    "traced_params",
    "ColumnSquares",
    "Gram",
]
