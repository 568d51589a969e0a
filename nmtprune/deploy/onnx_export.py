"""A trained model as two ONNX graphs: the encoder, and one decoder step with its state in and out.

The decoder loops over time with input feeding, so it is exported as one step that a runner calls
once per target word (:mod:`.onnx_runner`); the search itself (greedy or beam) stays in Python.

``encoder.onnx``: ``src`` (B, S) int64 ids, PAD-padded, ``src_len`` (B,) int64 ->
``memory`` (B, S, H_enc), ``keys`` (B, S, H), ``mask_bias`` (B, S, 1), ``h0`` .. ``h{L-1}`` and
``c0`` .. ``c{L-1}`` (B, n_k): the decoder's initial state. It computes :meth:`Seq2Seq.encode` with
one packed ``nn.LSTM`` per layer, which becomes an ONNX LSTM node that takes the sentence lengths.

``decoder_step.onnx``: ``y`` (B,) int64, ``feed`` (B, A), ``keys``, ``memory``, ``mask_bias``,
``h*``, ``c*`` -> ``logp`` (B, V) log-probabilities, ``feed_out`` (B, A) and ``h*_out``, ``c*_out``.
It is :class:`~nmtprune.decode.explicit_step.ExplicitStep` traced, whose weight products are MatMuls.

Batch and source length are dynamic axes. Exported by the TorchScript-based exporter
(``torch.onnx.export(..., dynamo=False)``): it traces the packed LSTM into ONNX LSTM nodes, while
``torch.export`` cannot capture a packed sequence's data-dependent lengths.

``decoder_hidden.onnx`` is the same step up to h~ (outputs ``feed_out`` and the states, no ``logp``) and
``softmax.safetensors`` the softmax layer's fp32 weights: decoding with a target-vocabulary shortlist runs
that graph and multiplies only the shortlisted rows (:mod:`.onnx_runner`).

``--int8`` runs onnxruntime's dynamic quantisation on the graphs: MatMul and LSTM weights int8,
one scale per output channel, activations quantised per call, as PyTorch's int8 decoding does
(:mod:`nmtprune.decode.int8`); the embeddings stay fp32 there too.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..data.vocab import BOS
from ..decode.explicit_step import ExplicitStep, MatMulLinear
from ..errors import UserError
from ..models.seq2seq import Seq2Seq

__all__ = [
    "OnnxError",
    "export_onnx",
    "FORMAT",
    "META_FILE",
    "ENCODER_FILE",
    "STEP_FILE",
    "HIDDEN_FILE",
    "SOFTMAX_FILE",
    "OPSET",
]

FORMAT, VERSION = "nmtprune-onnx", 1
META_FILE, ENCODER_FILE, STEP_FILE = "onnx.json", "encoder.onnx", "decoder_step.onnx"
# decoding with a target-vocabulary shortlist: the step up to the attentional layer as a graph, and the
# softmax layer's weights, whose shortlisted rows the runner multiplies itself
HIDDEN_FILE, SOFTMAX_FILE = "decoder_hidden.onnx", "softmax.safetensors"
OPSET = 17
# what a runner needs besides the graphs: the tokenisation settings and the vocabularies
COPIED = ("config.json", "src.vocab", "tgt.vocab")


class OnnxError(RuntimeError, UserError):
    """An ONNX directory is missing or foreign, or the onnx extra is not installed."""


def require_onnx() -> None:
    """A one-line error when the optional packages are missing."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        raise OnnxError(f"ONNX export and decoding need the onnx extra ({exc}): pip install 'nmtprune[onnx]'") from exc


def state_names(layers: int, suffix: str = "") -> list[str]:
    """Names of the per-layer states in graph order: h0 .. h{L-1}, then c0 .. c{L-1}."""
    return [f"{x}{k}{suffix}" for x in "hc" for k in range(layers)]


class _EncoderGraph(nn.Module):
    """:meth:`Seq2Seq.encode` with one single-layer ``nn.LSTM`` per encoder layer, for tracing.

    The encoder's own module runs a unit-pruned encoder (per-layer sizes) through a kernel call whose
    zero initial state takes the batch size as a Python number, which a trace would freeze; one
    ``nn.LSTM`` per layer on a packed batch exports to ONNX LSTM nodes with dynamic batch and length
    for every encoder, uniform or not.
    """

    def __init__(self, model: Seq2Seq):
        super().__init__()
        self.model = model
        self.layers = nn.ModuleList()
        width = model.cfg.emb_dim
        for k, n in enumerate(model.cfg.enc_sizes):
            lstm = nn.LSTM(width, n, 1, batch_first=True)
            for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(lstm, f"{w}_l0").data = getattr(model.encoder, f"{w}_l{k}").detach().float()
            self.layers.append(lstm)
            width = n

    def forward(self, src: torch.Tensor, src_len: torch.Tensor):
        model, (B, S) = self.model, src.shape
        x = model.src_emb(model._source_ids(src, src_len))  # (B, S, E)
        h, c = [], []
        for lstm in self.layers:
            packed = pack_padded_sequence(x, src_len, batch_first=True, enforce_sorted=False)
            out, (h_k, c_k) = lstm(packed)
            x, _ = pad_packed_sequence(out, batch_first=True, total_length=S)  # (B, S, n_k), zero at padding
            h.append(h_k[0])
            c.append(c_k[0])
        pad = torch.arange(S).unsqueeze(0) >= src_len.unsqueeze(1)  # (B, S)
        mask_bias = x.new_zeros(B, S, 1).masked_fill(pad.unsqueeze(2), float("-inf"))
        if model.cfg.enc_layers != model.cfg.dec_layers:  # as Seq2Seq.encode: the decoder starts from zeros
            h = [x.new_zeros(B, n) for n in model.cfg.dec_sizes]
            c = [x.new_zeros(B, n) for n in model.cfg.dec_sizes]
        return (x, model.attention.keys(x), mask_bias, *h, *c)


class _StepGraph(nn.Module):
    """One decoder step; without ``softmax``, the step up to h~ (the shortlist's graph)."""

    def __init__(self, model: Seq2Seq, softmax: bool = True):
        super().__init__()
        self.layers, self.softmax = model.cfg.dec_layers, softmax
        self.step = ExplicitStep(model, MatMulLinear)
        if not softmax:
            self.step.generator = nn.Identity()  # no softmax-layer product in the graph

    def forward(self, y, feed, keys, memory, mask_bias, *states):
        L = self.layers
        logits, h, c, h_tilde, _ = self.step(y, list(states[:L]), list(states[L:]), feed, keys, memory, mask_bias)
        if not self.softmax:
            return (h_tilde, *h, *c)
        return (torch.log_softmax(logits, dim=-1), h_tilde, *h, *c)


@contextmanager
def _native_stderr_kept() -> Iterator[None]:
    """Hold back what C++ code writes to the standard error inside the block, unless the block fails.

    The exporter's C++ shape inference warns that it has no rule for packing (``prim::PackPadded``);
    the graph is right regardless (tests compare its outputs with PyTorch's), so a working export
    stays quiet, and a failing one shows everything.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            held.seek(0)
            sys.stderr.write(held.read().decode("utf-8", "replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _export(module: nn.Module, args: tuple, path: Path, inputs: list[str], outputs: list[str], dynamic: dict) -> None:
    # the exporter's notes on tracing LSTMs and on its own deprecation
    with warnings.catch_warnings(), _native_stderr_kept():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            args,
            str(path),
            input_names=inputs,
            output_names=outputs,
            dynamic_axes=dynamic,
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )


def _example(model: Seq2Seq) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of 2 sources of different lengths: the trace must see a real length mask."""
    src = torch.tensor([[5, 6, 7, 8], [5, 6, 0, 0]])
    return src.clamp(max=model.cfg.src_vocab_size - 1), torch.tensor([4, 2])


def export_graphs(model: Seq2Seq, out: Path) -> None:
    """Write ENCODER_FILE and STEP_FILE (fp32) for ``model`` into the folder ``out``."""
    model = model.cpu().float().eval()
    L = model.cfg.dec_layers
    B, S = {0: "batch"}, {0: "batch", 1: "src_len"}
    src, src_len = _example(model)
    enc_out = ["memory", "keys", "mask_bias", *state_names(L)]
    with torch.no_grad():
        _export(
            _EncoderGraph(model),
            (src, src_len),
            out / ENCODER_FILE,
            ["src", "src_len"],
            enc_out,
            {"src": S, "src_len": B, "memory": S, "keys": S, "mask_bias": S, **{n: B for n in state_names(L)}},
        )
        enc = model.encode(src, src_len)
        feed = enc.memory.new_zeros(src.shape[0], model.cfg.attn_size)
        step_in = ["y", "feed", "keys", "memory", "mask_bias", *state_names(L)]
        step_out = ["logp", "feed_out", *state_names(L, "_out")]
        dynamic = {**{n: B for n in step_in + step_out}, "keys": S, "memory": S, "mask_bias": S}
        y = torch.full((src.shape[0],), BOS, dtype=torch.long)
        args = (y, feed, enc.keys, enc.memory, enc.mask_bias, *enc.h, *enc.c)
        _export(_StepGraph(model), args, out / STEP_FILE, step_in, step_out, dynamic)
        _export(_StepGraph(model, softmax=False), args, out / HIDDEN_FILE, step_in, step_out[1:], dynamic)
    from safetensors.torch import save_file

    gen = model.generator
    save_file(
        {"weight": gen.weight.detach().float().contiguous(), "bias": gen.bias.detach().float().contiguous()},
        str(out / SOFTMAX_FILE),
    )


def quantise_graphs(src: Path, out: Path) -> None:
    """onnxruntime's dynamic int8 quantisation of both graphs in ``src`` into ``out``."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.disable(logging.WARNING)  # its advice to pre-process image models, on the root logger
    try:
        shutil.copyfile(src / SOFTMAX_FILE, out / SOFTMAX_FILE)  # fp32: the runner quantises the rows it keeps
        for name in (ENCODER_FILE, STEP_FILE, HIDDEN_FILE):
            # reduce_range: 7-bit weights. Without VNNI (AVX2), the int8 kernels add pairs of u8 x s8
            # products in 16 bits, which saturate with 8-bit weights; on the shipped model 8-bit weights
            # changed more than twice as many greedy translations (against fp32) as 7-bit ones.
            quantize_dynamic(
                src / name,
                out / name,
                op_types_to_quantize=["MatMul", "LSTM"],
                per_channel=True,
                reduce_range=True,
                weight_type=QuantType.QInt8,
            )
    finally:
        logging.disable(logging.NOTSET)


def export_onnx(model: Seq2Seq, model_dir: str | Path, out: str | Path, int8: bool = False) -> dict:
    """Write ``out`` (a new folder): the two graphs, onnx.json, and the model's config and vocabularies.

    ``model`` is the model read from ``model_dir`` (any directory :func:`~nmtprune.train.checkpoint.load_model`
    reads). The folder appears whole or not at all: it is written next to ``out`` and renamed.
    Returns onnx.json's content.
    """
    require_onnx()
    import onnx
    import onnxruntime

    model_dir, out = Path(model_dir), Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp's folder is private; the export is an ordinary folder
    try:
        if int8:
            fp32 = tmp / "fp32"
            fp32.mkdir()
            export_graphs(model, fp32)
            quantise_graphs(fp32, tmp)
            shutil.rmtree(fp32)
        else:
            export_graphs(model, tmp)
        for name in COPIED:
            shutil.copyfile(model_dir / name, tmp / name)
        cfg = model.cfg
        meta = {
            "format": FORMAT,
            "version": VERSION,
            "precision": "int8" if int8 else "fp32",
            "source": str(model_dir),
            "dec_layers": cfg.dec_layers,
            "dec_sizes": list(cfg.dec_sizes),
            "attn_size": cfg.attn_size,
            "opset": OPSET,
            "torch": torch.__version__,
            "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__,
            "files": {f.name: f.stat().st_size for f in sorted(tmp.iterdir())},
        }
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, out)  # an empty `out` (check_new_out allows one) is replaced
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return meta
