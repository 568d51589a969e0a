"""Greedy and batched beam search with length normalisation.

Beam scores are summed log-probabilities; finished hypotheses are ranked by score / length**alpha
(alpha = 1: average log-probability per token, counting ``</s>``). A sentence stops once it has
``beam`` finished hypotheses, or at the length limit, where its live beams are finished as they are.
With beam = 1 this is exactly greedy search (tested).

A model may decode over part of the target vocabulary (a shortlist, :mod:`.shortlist`): its
``vocab_ids`` (V',), set by ``encode``, are the word ids its log-probabilities' columns stand for, and
the searches turn the columns they pick into those ids.
"""

from __future__ import annotations

import torch

from ..data.vocab import BOS, EOS

__all__ = ["greedy_search", "beam_search", "max_target_len"]


def max_target_len(src_len: torch.Tensor, a: float = 1.5, b: int = 10) -> int:
    """Length cap for a batch: a * longest source + b."""
    return int(a * int(src_len.max()) + b)


@torch.no_grad()
def greedy_search(model, src: torch.Tensor, src_len: torch.Tensor, max_len: int | None = None) -> list[list[int]]:
    """src: (B, S). Returns B token-id lists without <s>/</s>.

    A sentence leaves the batch once it has written ``</s>``: the rows still decoding are all the
    later steps multiply (OpenNMT-py does the same; keeping finished rows cost about 1.4x the rows).
    """
    max_len = max_len or max_target_len(src_len)
    enc = model.encode(src, src_len)
    words = getattr(model, "vocab_ids", None)  # (V',) or None: the columns are the word ids
    state = model.initial_state(enc)
    B = src.shape[0]
    y = torch.full((B,), BOS, dtype=torch.long, device=src.device)
    out: list[list[int]] = [[] for _ in range(B)]
    active = list(range(B))  # the sentence of each row still decoding
    for _ in range(max_len):
        logp, state, _ = model.decode_step(y, state, enc)
        y = logp.argmax(dim=-1)
        if words is not None:
            y = words[y]
        ended = (y == EOS).tolist()
        for row, tok in zip(active, y.tolist()):
            if tok != EOS:
                out[row].append(tok)
        if any(ended):
            keep = [i for i, e in enumerate(ended) if not e]
            if not keep:
                break
            index = torch.tensor(keep, device=src.device)
            y, state, enc = y.index_select(0, index), state.index_select(index), enc.index_select(index)
            active = [active[i] for i in keep]
    return out


@torch.no_grad()
def beam_search(
    model, src: torch.Tensor, src_len: torch.Tensor, beam: int = 5, alpha: float = 1.0, max_len: int | None = None
) -> list[list[int]]:
    """Batched beam search. src: (B, S). Returns the best hypothesis per sentence (ids, no <s>/</s>)."""
    if beam < 1:
        raise ValueError(f"beam size must be >= 1, got {beam}")
    max_len = max_len or max_target_len(src_len)
    device = src.device
    B, K = src.shape[0], beam
    enc = model.encode(src, src_len).index_select(torch.arange(B, device=device).repeat_interleave(K))
    words = getattr(model, "vocab_ids", None)  # (V',) or None: the columns are the word ids
    state = model.initial_state(enc)
    scores = torch.full((B, K), float("-inf"), device=device)
    scores[:, 0] = 0.0  # only one live hypothesis at the start
    y = torch.full((B * K,), BOS, dtype=torch.long, device=device)
    history = torch.zeros(B * K, 0, dtype=torch.long, device=device)
    finished: list[list[tuple[float, list[int]]]] = [[] for _ in range(B)]
    active = list(range(B))  # the sentence of each group of K rows still decoding
    arange_k = torch.arange(K, device=device)
    for t in range(max_len):
        logp, state, _ = model.decode_step(y, state, enc)  # (B'*K, V), B' sentences still decoding
        n, V = len(active), logp.shape[1]
        cand = (scores.view(n * K, 1) + logp).view(n, K * V)
        top_s, top_i = cand.topk(min(2 * K, K * V), dim=1)  # (B', 2K): at most K of them end in </s>
        origin, tok = top_i // V, top_i % V
        if words is not None:
            tok = words[tok]
        is_eos = tok == EOS
        rank = torch.cumsum((~is_eos).long(), dim=1)  # number of non-EOS candidates up to here
        # EOS candidates that rank above the K-th live candidate become finished hypotheses
        for i, j in (is_eos & (rank < K) & torch.isfinite(top_s)).nonzero().tolist():
            hyp = history[i * K + int(origin[i, j])].tolist()
            finished[active[i]].append((float(top_s[i, j]) / (len(hyp) + 1) ** alpha, hyp))
        keep = [i for i, b in enumerate(active) if len(finished[b]) < K]
        if not keep:
            active = []  # every sentence has K finished hypotheses
            break
        pos = torch.tensor(keep, device=device)  # a sentence with K finished hypotheses leaves the batch
        if len(keep) < n:
            top_s, origin, tok, is_eos, rank = (x.index_select(0, pos) for x in (top_s, origin, tok, is_eos, rank))
            enc = enc.index_select((pos.unsqueeze(1) * K + arange_k).view(-1))
            active = [active[i] for i in keep]
        live = (~is_eos) & (rank <= K)
        pick = torch.sort(torch.where(live, torch.arange(top_i.shape[1], device=device), 10**9), dim=1).indices[
            :, :K
        ]  # (B', K): positions of the K best live candidates
        scores = top_s.gather(1, pick)
        src_row = (origin.gather(1, pick) + pos.unsqueeze(1) * K).view(-1)  # rows of the step's own layout
        y = tok.gather(1, pick).view(-1)
        history = torch.cat([history.index_select(0, src_row), y.unsqueeze(1)], dim=1)
        state = state.index_select(src_row)
    for i, b in enumerate(active):  # length limit: finish the live beams as they are
        for k in range(K):
            s = float(scores[i, k])
            if s > float("-inf"):
                hyp = history[i * K + k].tolist()
                finished[b].append((s / max(1, len(hyp)) ** alpha, hyp))
    return [max(f, key=lambda x: x[0])[1] if f else [] for f in finished]
