"""A target-vocabulary shortlist: the softmax layer multiplies only the words a batch's sources make likely.

At every decoder step the softmax layer multiplies all V target rows (7,880 for Multi30k: 41 % of a
step's weights at hidden size 512, more once hidden units are removed), although a sentence is
translated with a few hundred of them. A shortlist picks, per batch, the rows worth computing:

* the ``frequent`` most frequent target words of the training data (function words, punctuation);
* for every source word in the batch, its ``per_source`` target words most associated with it in the
  training data: the Dice coefficient 2·c(s, t) / (c(s) + c(t)) over sentence pairs (c counts the pairs
  holding a word, or both), a co-occurrence table instead of a word aligner's;
* the special tokens.

Decoding then computes those rows only, and normalises over them: every other word has probability 0.
The step's log-probabilities cover the shortlist only (``vocab_ids`` says which words, in order), and
the searches (:mod:`.search`) map the positions they pick back to word ids, so the log-softmax and the
top-k also run over the shortlist instead of the whole vocabulary. Words outside the shortlist can no
longer be written: that is the BLEU a shortlist may cost, which is why it is measured beside its speed,
never assumed. Perplexity (teacher forcing) is the full model's: the shortlist restricts the search, not
the model.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..data.vocab import SPECIALS
from ..errors import UserError
from ..models.seq2seq import Encoded

__all__ = [
    "Shortlist",
    "ShortlistError",
    "ShortlistSoftmax",
    "build_shortlist",
    "fp32_linear",
    "shortlisted",
    "SHORTLIST_FILE",
]

SHORTLIST_FILE = "shortlist.safetensors"


class ShortlistError(ValueError, UserError):
    """A shortlist file that cannot be read, or one that does not fit the model."""


@dataclass
class Shortlist:
    """candidates: (V_src, per_source) target ids per source word; frequent: (N,) target ids."""

    candidates: torch.Tensor
    frequent: torch.Tensor
    tgt_vocab_size: int

    def ids(self, src: torch.Tensor) -> torch.Tensor:
        """The sorted target ids a batch may write. src: (B, S) source ids -> (V',) int64."""
        specials = torch.arange(len(SPECIALS), dtype=torch.long)
        words = self.candidates[src.reshape(-1).cpu()].reshape(-1)
        return torch.unique(torch.cat([specials, self.frequent, words]))

    def save(self, path: str | Path) -> None:
        """Write the table (int32) with its sizes; atomic (temporary file, then rename)."""
        from safetensors.torch import save_file

        path = Path(path)
        tmp = path.with_name(f".{path.name}.tmp")
        meta = {"format": "nmtprune-shortlist", "tgt_vocab_size": str(self.tgt_vocab_size)}
        tensors = {"candidates": self.candidates.int().contiguous(), "frequent": self.frequent.int().contiguous()}
        save_file(tensors, str(tmp), metadata=meta)
        tmp.replace(path)

    @classmethod
    def load(cls, path: str | Path) -> "Shortlist":
        """Read a file written by :meth:`save`; anything else is a one-line :class:`ShortlistError`."""
        from safetensors import SafetensorError, safe_open

        try:
            with safe_open(str(path), "pt") as fh:
                meta = fh.metadata() or {}
                if meta.get("format") != "nmtprune-shortlist":
                    raise ShortlistError(f"{path}: not a shortlist file (write one with `nmtprune shortlist`)")
                tensors = {k: fh.get_tensor(k).long() for k in ("candidates", "frequent")}
        except (OSError, ValueError, SafetensorError) as e:  # missing, truncated or not safetensors at all
            if isinstance(e, ShortlistError):
                raise
            raise ShortlistError(f"{path}: cannot read a shortlist ({str(e).splitlines()[0]})") from None
        return cls(tensors["candidates"], tensors["frequent"], int(meta["tgt_vocab_size"]))

    def check(self, src_vocab_size: int, tgt_vocab_size: int, where: str = "shortlist") -> None:
        """Raise ShortlistError unless the table was built for these vocabulary sizes."""
        got = (self.candidates.shape[0], self.tgt_vocab_size)
        if got != (src_vocab_size, tgt_vocab_size):
            raise ShortlistError(
                f"{where}: built for vocabularies of {got[0]} source and {got[1]} target words; "
                f"the model has {src_vocab_size} and {tgt_vocab_size}"
            )


def build_shortlist(
    src: list[list[int]],
    tgt: list[list[int]],
    src_vocab_size: int,
    tgt_vocab_size: int,
    per_source: int = 20,
    frequent: int = 500,
) -> Shortlist:
    """The table from training pairs (token ids, no specials needed): Dice association over sentence pairs."""

    pairs, c_s, c_t = [], torch.zeros(src_vocab_size), torch.zeros(tgt_vocab_size)
    for s_ids, t_ids in zip(src, tgt):
        s_set, t_set = (
            torch.tensor(sorted(set(s_ids)), dtype=torch.long),
            torch.tensor(sorted(set(t_ids)), dtype=torch.long),
        )
        c_s[s_set] += 1
        c_t[t_set] += 1
        pairs.append((s_set[:, None] * tgt_vocab_size + t_set[None, :]).reshape(-1))
    flat = torch.cat(pairs) if pairs else torch.zeros(0, dtype=torch.long)
    # (V_src, V_tgt): the number of sentence pairs holding both words
    both = torch.bincount(flat, minlength=src_vocab_size * tgt_vocab_size).view(src_vocab_size, tgt_vocab_size).float()
    dice = 2 * both / (c_s[:, None] + c_t[None, :]).clamp(min=1)
    k = min(per_source, tgt_vocab_size)
    # a word never seen in training (or a special) gets the first ids, which the specials cover anyway
    candidates = dice.topk(k, dim=1).indices
    top = c_t.topk(min(frequent, tgt_vocab_size)).indices
    return Shortlist(candidates, top.sort().values, tgt_vocab_size)


class ShortlistSoftmax(nn.Module):
    """The softmax layer restricted to the rows :meth:`select` was last given (their logits only);
    ``make_linear(weight, bias)`` builds the product of those rows (fp32, or int8 for an int8 model)."""

    def __init__(self, generator: nn.Module, make_linear):
        super().__init__()
        w = generator.weight
        self.full = generator  # teacher forcing (perplexity) multiplies every row
        self.weight = (w() if callable(w) else w).detach()
        self.weight = self.weight.dequantize() if self.weight.is_quantized else self.weight.float()
        b = generator.bias
        self.bias = (b() if callable(b) else b).detach().float()
        self.make_linear, self.ids, self.rows = make_linear, None, None

    def select(self, ids: torch.Tensor) -> None:
        self.ids = ids.to(self.weight.device)
        self.rows = self.make_linear(self.weight.index_select(0, self.ids), self.bias.index_select(0, self.ids))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """h: (B, A) -> logits (B, V') of the selected words, in the order of ``ids``; with no batch
        selected (teacher forcing), or for (B, T, A), the full layer's (..., V)."""
        if self.ids is None or h.dim() != 2:
            return self.full(h)
        return self.rows(h)


def fp32_linear(weight: torch.Tensor, bias: torch.Tensor) -> nn.Linear:
    """An fp32 linear layer holding ``weight`` (out, in) and ``bias`` (out,)."""
    lin = nn.Linear(weight.shape[1], weight.shape[0])
    with torch.no_grad():
        lin.weight.copy_(weight)
        lin.bias.copy_(bias)
    return lin.to(weight.device)


class _Shortlisted(nn.Module):
    """A model whose searches write only shortlisted words (its encode picks the batch's rows)."""

    def __init__(self, model: nn.Module, shortlist: Shortlist):
        super().__init__()
        owner = model.step if hasattr(model, "step") else model  # int8 models hold the layer in their step
        from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

        from .int8 import int8_linear

        make = int8_linear if isinstance(owner.generator, DynamicLinear) else fp32_linear
        self.gen = ShortlistSoftmax(owner.generator, make)
        twin = copy.copy(owner)  # shares every module but the softmax layer with the model
        twin._modules = dict(owner._modules)
        twin.generator = self.gen
        if owner is model:
            self.inner = twin
        else:
            self.inner = copy.copy(model)
            self.inner._modules = dict(model._modules)
            self.inner.step = twin
        self.cfg, self.shortlist = model.cfg, shortlist

    @property
    def vocab_ids(self) -> torch.Tensor | None:
        """(V',) the target ids that decode_step's log-probabilities cover, in order (set by encode)."""
        return self.gen.ids

    def encode(self, src: torch.Tensor, src_len: torch.Tensor) -> Encoded:
        self.gen.select(self.shortlist.ids(src))
        return self.inner.encode(src, src_len)

    def initial_state(self, enc: Encoded):
        return self.inner.initial_state(enc)

    def decode_step(self, y_prev: torch.Tensor, state, enc: Encoded):
        """y_prev: (B,) target ids -> log-probs (B, V') over ``vocab_ids``, new state, attention (B, S)."""
        return self.inner.decode_step(y_prev, state, enc)

    def forward(self, src: torch.Tensor, src_len: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        self.gen.ids = None  # perplexity is the full model's
        return self.inner(src, src_len, tgt_in)


def shortlisted(model: nn.Module, shortlist: Shortlist, where: str = "shortlist") -> nn.Module:
    """``model`` (a Seq2Seq, an int8 model or an ONNX export) decoding with ``shortlist``; ``model`` is unchanged.
    ``where`` names the table in the error raised when it does not fit the model's vocabularies."""
    cfg = model.cfg
    shortlist.check(cfg.src_vocab_size, cfg.tgt_vocab_size, where)
    if hasattr(model, "with_shortlist"):  # a model that runs its steps elsewhere (an ONNX export)
        return model.with_shortlist(shortlist)
    return _Shortlisted(model, shortlist).eval()
