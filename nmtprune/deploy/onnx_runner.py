"""Decoding with onnxruntime from a directory that ``nmtprune export-onnx`` wrote.

:class:`OnnxModel` runs the two graphs (:mod:`.onnx_export`) behind the inference interface of
:class:`~nmtprune.models.Seq2Seq` (``encode``, ``initial_state``, ``decode_step``, teacher-forced
call), so the project's own greedy and beam search (:mod:`nmtprune.decode.search`) and
:func:`nmtprune.metrics.evaluate_data` drive it unchanged: the runner adds no search code of its own,
and a difference from PyTorch's translations can only come from the graphs. Tensors cross between
torch and numpy without copies (``torch.from_numpy``, ``Tensor.numpy``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from ..config import ConfigError, config_from_dict
from ..data.vocab import Vocab
from ..decode.explicit_step import teacher_forced
from ..models.seq2seq import DecoderState, Encoded
from .onnx_export import (
    ENCODER_FILE,
    FORMAT,
    HIDDEN_FILE,
    META_FILE,
    SOFTMAX_FILE,
    STEP_FILE,
    OnnxError,
    require_onnx,
    state_names,
)

__all__ = ["OnnxModel", "OnnxShortlisted", "load_onnx"]


def _session(path: Path, threads: int):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads  # 0: onnxruntime's default (all cores)
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3  # its notes on unused initializers and the like are not the user's business
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


class OnnxModel:
    """The encoder and decoder-step graphs of one directory, as a model the searches accept."""

    def __init__(self, directory: str | Path, meta: dict, threads: int = 1):
        directory = Path(directory)
        self.directory, self.threads, self.cfg = directory, threads, None  # cfg: the model config, set by load_onnx
        self.meta = meta
        self.layers = int(meta["dec_layers"])
        self.attn_size = int(meta["attn_size"])
        self.encoder = _session(directory / ENCODER_FILE, threads)
        self.step = _session(directory / STEP_FILE, threads)
        self._states_in = state_names(self.layers)
        # a graph drops the inputs it does not read (the input feed, for a model trained without it)
        self._step_inputs = {i.name for i in self.step.get_inputs()}

    def eval(self) -> "OnnxModel":  # the graphs have no training mode
        return self

    def encode(self, src: torch.Tensor, src_len: torch.Tensor) -> Encoded:
        """src: (B, S) int64 ids; src_len: (B,) -> the fields of :class:`~nmtprune.models.Encoded`."""
        out = self.encoder.run(None, {"src": src.cpu().numpy(), "src_len": src_len.cpu().numpy()})
        memory, keys, mask_bias, *states = (torch.from_numpy(x) for x in out)
        L = self.layers
        return Encoded(memory, keys, mask_bias, list(states[:L]), list(states[L:]))

    def initial_state(self, enc: Encoded) -> DecoderState:
        return DecoderState(list(enc.h), list(enc.c), enc.memory.new_zeros(enc.memory.shape[0], self.attn_size))

    def decode_step(self, y_prev: torch.Tensor, state: DecoderState, enc: Encoded):
        """y_prev: (B,) ids -> log-probs (B, V), new state, None (the step graph returns no attention)."""
        logp, feed, *states = (torch.from_numpy(x) for x in self.step.run(None, self.feeds(y_prev, state, enc)))
        L = self.layers
        return logp, DecoderState(list(states[:L]), list(states[L:]), feed), None

    def feeds(self, y_prev: torch.Tensor, state: DecoderState, enc: Encoded) -> dict:
        """The step graph's inputs (the hidden-step graph takes the same)."""
        feeds = {
            "y": y_prev.cpu().numpy().astype(np.int64, copy=False),
            "feed": state.feed.numpy(),
            "keys": enc.keys.numpy(),
            "memory": enc.memory.numpy(),
            "mask_bias": enc.mask_bias.numpy(),
        }
        feeds.update({n: x.numpy() for n, x in zip(self._states_in, state.h + state.c)})
        return {n: x for n, x in feeds.items() if n in self._step_inputs}

    def with_shortlist(self, shortlist) -> "OnnxShortlisted":
        """This export decoding with a target-vocabulary shortlist (:mod:`nmtprune.decode.shortlist`)."""
        if not (self.directory / HIDDEN_FILE).is_file() or not (self.directory / SOFTMAX_FILE).is_file():
            raise OnnxError(
                f"{self.directory}: no {HIDDEN_FILE} and {SOFTMAX_FILE} for decoding with a shortlist; "
                "export the model again with this version's export-onnx"
            )
        return OnnxShortlisted(self, shortlist)

    def __call__(self, src: torch.Tensor, src_len: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        """Teacher-forced log-probabilities (B, T, V) for tgt_in (B, T) (perplexity, as a model's logits)."""
        return teacher_forced(self, src, src_len, tgt_in)


class OnnxShortlisted:
    """An export decoding with a shortlist: the hidden-step graph, then the shortlisted softmax rows in torch
    (int8 rows for an int8 export, as ``--int8`` multiplies them). Log-probabilities cover ``vocab_ids``."""

    def __init__(self, model: OnnxModel, shortlist):
        from safetensors.torch import load_file
        from torch import nn

        from ..decode.int8 import int8_linear
        from ..decode.shortlist import fp32_linear, ShortlistSoftmax

        self.base, self.shortlist, self.cfg = model, shortlist, model.cfg
        self.hidden = _session(model.directory / HIDDEN_FILE, model.threads)
        w = load_file(str(model.directory / SOFTMAX_FILE))
        softmax = nn.Linear(w["weight"].shape[1], w["weight"].shape[0])
        softmax.weight.data, softmax.bias.data = w["weight"], w["bias"]
        make = int8_linear if model.meta.get("precision") == "int8" else fp32_linear
        self.gen = ShortlistSoftmax(softmax, make)

    def eval(self) -> "OnnxShortlisted":
        return self

    @property
    def vocab_ids(self) -> torch.Tensor | None:
        """(V',) the target ids decode_step's log-probabilities cover (set by encode)."""
        return self.gen.ids

    def encode(self, src: torch.Tensor, src_len: torch.Tensor) -> Encoded:
        self.gen.select(self.shortlist.ids(src))
        return self.base.encode(src, src_len)

    def initial_state(self, enc: Encoded) -> DecoderState:
        return self.base.initial_state(enc)

    def decode_step(self, y_prev: torch.Tensor, state: DecoderState, enc: Encoded):
        """y_prev: (B,) ids -> log-probs (B, V') over ``vocab_ids``, new state, None."""
        feed, *states = (torch.from_numpy(x) for x in self.hidden.run(None, self.base.feeds(y_prev, state, enc)))
        L = self.base.layers
        logp = torch.log_softmax(self.gen(feed), dim=-1)
        return logp, DecoderState(list(states[:L]), list(states[L:]), feed), None

    def __call__(self, src: torch.Tensor, src_len: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        """Teacher-forced log-probabilities of the whole export (perplexity is the model's, not the shortlist's)."""
        return self.base(src, src_len, tgt_in)


def load_onnx(directory: str | Path, threads: int = 1):
    """(model, cfg, src_vocab, tgt_vocab) from an ``export-onnx`` directory, as ``load_model`` returns them."""
    require_onnx()
    directory = Path(directory)
    meta_file = directory / META_FILE
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise OnnxError(f"{meta_file}: not an export-onnx directory ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise OnnxError(f"{meta_file}: format is not {FORMAT!r}")
    for name in (ENCODER_FILE, STEP_FILE, "src.vocab", "tgt.vocab"):
        if not (directory / name).is_file():
            raise OnnxError(f"{directory / name}: missing")
    try:
        cfg = config_from_dict(json.loads((directory / "config.json").read_text(encoding="utf-8")), "config.json")
    except (OSError, ValueError, ConfigError) as exc:
        raise OnnxError(f"{directory / 'config.json'}: {exc}") from exc
    src_vocab, tgt_vocab = Vocab.load(directory / "src.vocab"), Vocab.load(directory / "tgt.vocab")
    model = OnnxModel(directory, meta, threads)
    model.cfg = cfg.model
    return model, cfg, src_vocab, tgt_vocab
