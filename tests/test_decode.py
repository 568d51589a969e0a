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
