import torch

from nmtprune.data.vocab import EOS, PAD
from nmtprune.decode import beam_search, greedy_search
from nmtprune.models import Seq2Seq


def _src(B=4, S=7, V=11):
    g = torch.Generator().manual_seed(3)
    src = torch.randint(4, V, (B, S), generator=g)
    src_len = torch.tensor([7, 5, 3, 6][:B])
    for b in range(B):
        src[b, src_len[b] :] = PAD
    return src, src_len


def test_beam_one_equals_greedy(tiny_cfg):
    torch.manual_seed(0)
    model = Seq2Seq(tiny_cfg).eval()
    src, src_len = _src()
    assert beam_search(model, src, src_len, beam=1) == greedy_search(model, src, src_len)


def test_beam_search_outputs_valid_tokens_and_is_batch_independent(tiny_cfg):
    torch.manual_seed(1)
    model = Seq2Seq(tiny_cfg).eval()
    src, src_len = _src()
    batched = beam_search(model, src, src_len, beam=4, max_len=12)  # fixed cap: the default depends on the batch
    assert len(batched) == 4
    for b in range(4):
        single = beam_search(model, src[b : b + 1, : src_len[b]], src_len[b : b + 1], beam=4, max_len=12)[0]
        assert single == batched[b]
        assert EOS not in single and len(single) <= 12


def test_beam_finds_a_better_score_than_greedy(tiny_cfg):
    """Beam search maximises (normalised) log-probability at least as well as greedy on average."""
    torch.manual_seed(2)
    model = Seq2Seq(tiny_cfg).eval()
    src, src_len = _src()

    @torch.no_grad()
    def score(hyps):
        total = 0.0
        for b, h in enumerate(hyps):
            tgt_in = torch.tensor([[2] + h])
            tgt_out = torch.tensor([h + [EOS]])
            logp = torch.log_softmax(model(src[b : b + 1], src_len[b : b + 1], tgt_in), -1)
            total += float(logp.gather(2, tgt_out.unsqueeze(2)).sum()) / (len(h) + 1)
        return total

    assert score(beam_search(model, src, src_len, beam=5)) >= score(greedy_search(model, src, src_len)) - 1e-6


class _Counting:
    """A stand-in model: sentence b writes token 5 for ``lengths[b]`` steps, then </s>; every
    decode_step records how many rows it was given."""

    def __init__(self, lengths, V=8):
        self.lengths, self.V, self.rows = torch.tensor(lengths, dtype=torch.float), V, []

    def encode(self, src, src_len):
        from nmtprune.models.seq2seq import Encoded

        B = src.shape[0]
        z = torch.zeros(B, 1, 1)
        return Encoded(self.lengths.view(B, 1, 1).clone(), z, z, [torch.zeros(B, 1)], [torch.zeros(B, 1)])

    def initial_state(self, enc):
        from nmtprune.models.seq2seq import DecoderState

        return DecoderState(list(enc.h), list(enc.c), enc.memory[:, 0].clone())  # feed: the sentence's length

    def decode_step(self, y, state, enc):
        from nmtprune.models.seq2seq import DecoderState

        self.rows.append(y.shape[0])
        steps = state.h[0][:, 0]  # (N,) steps taken so far
        logp = torch.full((y.shape[0], self.V), -10.0)
        ended = steps >= state.feed[:, 0]
        logp[:, 5] = torch.where(ended, -50.0, -0.1)
        logp[:, EOS] = torch.where(ended, -0.1, -50.0)
        return logp, DecoderState([state.h[0] + 1], state.c, state.feed), None


def test_finished_sentences_leave_the_batch_and_the_others_decode_as_before():
    src, src_len = _src()
    m = _Counting([2, 5, 1, 3])
    assert greedy_search(m, src, src_len) == [[5] * 2, [5] * 5, [5], [5] * 3]
    # each step multiplies only the sentences still decoding: 4, 4, 3 (the 1-token one has ended), ...
    assert m.rows == [4, 4, 3, 2, 1, 1]
    m = _Counting([2, 5, 1, 3])
    assert beam_search(m, src, src_len, beam=2) == [[5] * 2, [5] * 5, [5], [5] * 3]
    # a sentence's 2 rows leave together once it has 2 finished hypotheses; the longest decodes alone at the end
    assert m.rows[0] == 8 and m.rows[-1] == 2 and all(a >= b and (a - b) % 2 == 0 for a, b in zip(m.rows, m.rows[1:]))
    assert len(set(m.rows)) == 4
