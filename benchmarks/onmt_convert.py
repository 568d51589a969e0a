"""An nmtprune checkpoint as an OpenNMT-py 3.5.1 checkpoint (.pt) with the same weights.

Decoding speed is only comparable on one model, so OpenNMT-py's ``onmt_translate`` gets nmtprune's own
weights, rearranged where the two systems lay the same network out differently (each point checked
against nmtprune/models/ and onmt's model_builder.py, decoders/decoder.py, modules/stacked_rnn.py,
modules/global_attention.py):

* vocabularies: nmtprune numbers its specials <pad> <unk> <s> </s> (0-3), OpenNMT-py
  <unk> <blank> <s> </s>; words follow in nmtprune's order in both, so embedding rows and the
  softmax layer's rows and bias are permuted by token name (ids 0 and 1 swap);
* source order: nmtprune reverses each source sentence inside the model (``reverse_source``);
  OpenNMT-py has no such option, so :func:`onmt_source_lines` writes the sources already reversed;
* attention: both score h_t^T W h_s ("general"); nmtprune applies W_a to the encoder states once
  (keys W_a h_s, ``F.linear(memory, W_a)``, then h_t . key), OpenNMT-py its ``linear_in`` L to the
  decoder state every step (h_s . L h_t = h_t^T L^T h_s), so ``linear_in = W_a^T``;
  ``linear_out`` is W_c unchanged: both take [context; h_t] in that order, no bias;
* LSTMs: PyTorch gate order (i, f, g, o) in both; the encoder is ``nn.LSTM`` under the same names;
  decoder layer k's ``weight_ih_l{k}`` becomes ``rnn.layers.{k}.weight_ih`` of onmt's StackedLSTM,
  whose first layer also takes [embedding; input feed] in that order; both start the decoder from
  the encoder's final (h, c) per layer (onmt without ``bridge``) and the input feed from zeros.

Runs in nmtprune's venv: it writes the checkpoint dict OpenNMT-py's model saver writes ("model",
"generator", "vocab", "opt"), with ``opt`` holding only the model options; onmt fills every other
option with its defaults when it loads (``ArgumentParser.ckpt_model_opts``). torch 2.13 loads
``.pt`` files weights-only by default, which refuses the pickled ``argparse.Namespace`` every onmt
checkpoint carries, so ``onmt_translate`` must run with ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1``
(:data:`ONMT_ENV`).

Usage:
    .venv/bin/python benchmarks/onmt_convert.py models/multi30k-en-de /tmp/x/model.pt
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from nmtprune.data.vocab import BOS, EOS, PAD, UNK  # noqa: E402

# OpenNMT-py's specials in the order its vocabulary builder puts them (onmt/constants.py DefaultTokens)
ONMT_SPECIALS = ["<unk>", "<blank>", "<s>", "</s>"]
NMT_ID = {"<unk>": UNK, "<blank>": PAD, "<s>": BOS, "</s>": EOS}
# what onmt_translate needs in its environment to load any .pt checkpoint under torch >= 2.6
ONMT_ENV = {"TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"}


def onmt_tokens(vocab) -> tuple[list[str], list[int]]:
    """OpenNMT-py's token list for an nmtprune vocabulary, and for each onmt id the nmtprune id."""
    words = vocab.itos[4:]
    for tok in words:
        if tok in ONMT_SPECIALS or not tok or tok.split() != [tok]:
            raise SystemExit(f"vocabulary token {tok!r} cannot be an OpenNMT-py word as it is")
    return ONMT_SPECIALS + words, [NMT_ID[t] for t in ONMT_SPECIALS] + list(range(4, len(vocab)))


def _model_opt(cfg) -> argparse.Namespace:
    """The model options onmt reads; everything else takes onmt's defaults at load time."""
    mc = cfg.model
    if mc.attention != "general" or not mc.input_feed or mc.enc_layers != mc.dec_layers:
        raise SystemExit("only general attention with input feeding and equal layer counts converts")
    if mc.emb_dim != mc.hidden or len({*mc.enc_sizes, *mc.dec_sizes, mc.attn_size}) != 1:
        raise SystemExit("OpenNMT-py's RNN model needs one width everywhere (a shrunk model does not convert)")
    return argparse.Namespace(
        model_type="text",
        model_task="seq2seq",
        data_task="seq2seq",
        encoder_type="rnn",  # unidirectional
        decoder_type="rnn",
        rnn_type="LSTM",
        enc_layers=mc.enc_layers,
        dec_layers=mc.dec_layers,
        layers=-1,
        hidden_size=mc.hidden,
        word_vec_size=mc.emb_dim,
        global_attention="general",
        global_attention_function="softmax",
        input_feed=1,
        bridge=False,
        context_gate=None,
        copy_attn=False,
        coverage_attn=False,
        share_decoder_embeddings=False,
        share_embeddings=False,
        dropout=[0.0],
        attention_dropout=[0.0],
        # read by onmt's build_embeddings even at inference time (not model options in its parser)
        freeze_word_vecs_enc=False,
        freeze_word_vecs_dec=False,
        optim="sgd",
    )


def convert(m) -> dict:
    """The OpenNMT-py checkpoint dict of a loaded nmtprune model (``nmtprune.api.load``)."""
    sd = {k: v.detach().float().contiguous() for k, v in m.net.state_dict().items()}
    src_toks, src_perm = onmt_tokens(m.src_vocab)
    tgt_toks, tgt_perm = onmt_tokens(m.tgt_vocab)
    src_perm, tgt_perm = torch.tensor(src_perm), torch.tensor(tgt_perm)
    model = {
        "encoder.embeddings.make_embedding.emb_luts.0.weight": sd["src_emb.weight"][src_perm],
        "decoder.embeddings.make_embedding.emb_luts.0.weight": sd["tgt_emb.weight"][tgt_perm],
        "decoder.attn.linear_in.weight": sd["attention.W_a"].t().contiguous(),
        "decoder.attn.linear_out.weight": sd["attention.W_c"],
    }
    for k in range(m.cfg.model.enc_layers):
        for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            model[f"encoder.rnn.{w}_l{k}"] = sd[f"encoder.{w}_l{k}"]
            model[f"decoder.rnn.layers.{k}.{w}"] = sd[f"decoder.{w}_l{k}"]
    generator = {"weight": sd["generator.weight"][tgt_perm], "bias": sd["generator.bias"][tgt_perm]}
    vocab = {"src": src_toks, "tgt": tgt_toks, "data_task": "seq2seq", "decoder_start_token": "<s>"}
    return {"model": model, "generator": generator, "vocab": vocab, "opt": _model_opt(m.cfg)}


def onmt_source_lines(m, data) -> list[str]:
    """Each source as the token sequence nmtprune's encoder reads: ids mapped back to vocabulary
    tokens (so an unknown word is the literal ``<unk>``, one id in both systems) and reversed when the
    model reverses its source."""
    itos = m.src_vocab.itos
    rev = m.cfg.model.reverse_source
    return [" ".join(itos[i] for i in (ids[::-1] if rev else ids)) for ids in data.src]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", type=Path, help="nmtprune model directory (e.g. models/multi30k-en-de)")
    ap.add_argument("out", type=Path, help="OpenNMT-py checkpoint to write (.pt)")
    args = ap.parse_args(argv)
    from nmtprune import api as nmt

    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(convert(nmt.load(args.model)), args.out)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
