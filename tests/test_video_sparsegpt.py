"""SparseGPT's video: the recorder follows the very run of prune/sparsegpt.py (its last frame is that run's
result), pruned cells only accumulate, and the renderer turns a tiny recording into a readable 1280×720 MP4."""

import numpy as np
import pytest
import torch

from site_helpers import toy_model

from nmtprune.experiments.siteframes.sparsegpt import crop_cols, crop_rows, record_columns
from nmtprune.prune.sparsegpt import sparsegpt_prune


def _problem(rows=24, cols=40, n=200, seed=0):
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(rows, cols, generator=g, dtype=torch.float64)
    X = torch.randn(n, cols, generator=g, dtype=torch.float64) * torch.linspace(0.2, 2.0, cols, dtype=torch.float64)
    return W, X.T @ X


@pytest.mark.parametrize("block_size", [8, 16, 128])
def test_the_last_frame_is_sparsegpts_result_and_pruning_only_accumulates(block_size):
    W, H = _problem()
    r, c = crop_rows(24, 8), crop_cols(40, 10)
    rec = record_columns(W, H, r, c, sparsity=0.75, block_size=block_size)
    ref, keep = sparsegpt_prune(W, H, 0.75, block_size=block_size, scope="block")
    assert torch.equal(rec["W_new"], ref) and torch.equal(rec["keep"], keep)  # the same run, not a copy of it
    fr = rec["frames"]
    assert [f["column"] for f in fr] == [-1, *c, 39]  # before any column, after each shown one, after the last
    crop = ref[torch.tensor(r)][:, torch.tensor(c)]
    torch.testing.assert_close(fr[-1]["w"], crop, rtol=0, atol=1e-10)
    assert torch.equal(fr[-1]["zeroed"], ~keep[torch.tensor(r)][:, torch.tensor(c)])
    counts = [int(f["zeroed"].sum()) for f in fr]
    assert counts[0] == 0 and counts == sorted(counts) and counts[-1] > 0
    for a, b in zip(fr, fr[1:]):
        assert not (a["zeroed"] & ~b["zeroed"]).any()  # a zeroed weight stays zeroed ...
        assert (b["w"][b["zeroed"]] == 0).all()  # ... at exactly 0
    # the whole rows' errors: SparseGPT's update beats zeroing the same weights, and both start at 0
    assert fr[0]["err"].abs().max() == 0 and fr[0]["err_mask"].abs().max() == 0
    assert fr[-1]["err"].sum() < fr[-1]["err_mask"].sum()


def test_the_pending_block_update_is_part_of_each_frame():
    """A frame inside a block shows the weights after the block's lazy update too: the same as one-column blocks."""
    W, H = _problem(seed=1)
    r, c = crop_rows(24, 8), crop_cols(40, 10)
    mask = torch.rand(W.shape, generator=torch.Generator().manual_seed(2)) > 0.6
    lazy = record_columns_masked(W, H, r, c, mask, block_size=16)
    eager = record_columns_masked(W, H, r, c, mask, block_size=1)
    for a, b in zip(lazy, eager):
        torch.testing.assert_close(a["w"], b["w"], rtol=0, atol=1e-9)


def record_columns_masked(W, H, r, c, mask, block_size):
    """Frames of SparseGPT with a fixed mask (so the block size changes only the order of the additions)."""
    frames = []
    rows = torch.tensor(r)

    def on_column(j, current, keep):
        if j in c:
            frames.append({"w": current(rows)[:, c]})

    sparsegpt_prune(W, H, mask=mask, block_size=block_size, on_column=on_column)
    return frames


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    from nmtprune.experiments.siteframes.sparsegpt import record_sparsegpt

    tmp = tmp_path_factory.mktemp("sparsegpt")
    model = toy_model(tmp)
    out = tmp / "sparsegpt-class-blind-s80.json"
    art = record_sparsegpt(
        model, out, rows=8, cols=12, n_batches=1, batch_size=8, block_size=32, progress=lambda *_: None
    )
    return art, out


def test_the_artifact_records_the_run_and_how_to_repeat_it(recorded):
    from nmtprune.site.video_sparsegpt import _decode

    art, _ = recorded
    assert art["method"] == "sparsegpt/class-blind" and art["sparsity"] == 0.8
    p = art["provenance"]
    assert {"command", "commit", "machine", "seed", "seconds"} <= set(p) and "record_sparsegpt" in p["command"]
    w0, zeroed, deltas, err, err_mask = _decode(art)
    assert w0.shape == (8, 12) and len(zeroed) == len(art["frames"]) == 12 + 2
    assert [int(z.sum()) for z in zeroed] == [f["pruned"] for f in art["frames"]]
    assert err.shape == err_mask.shape == (14, 8)
    whole = art["whole_matrix"]
    assert whole["pruned"] == round(0.8 * whole["weights"]) and whole["sparsegpt"] < whole["mask_only"]


def test_the_video_is_a_readable_1280x720_mp4(recorded, tmp_path):
    import imageio_ffmpeg

    from nmtprune.site.video_sparsegpt import render_sparsegpt_video, sparsegpt_figure, sparsegpt_shots
    from nmtprune.site.video_style import MAX_WORDS, Frame, words
    from test_video_readable import _labelled_and_legible

    art, out = recorded
    for s in sparsegpt_shots(art):
        assert words(s.caption) <= MAX_WORDS, s.caption
    fig = sparsegpt_figure(art)
    fig.draw(Frame(2, "a caption", "sweep", None, 5, 5))
    legend = _labelled_and_legible(fig.fig)
    assert {"> 0", "< 0", "pruned (set to 0)", "SparseGPT (updated)", "mask only (no update)"} <= set(legend)
    res = render_sparsegpt_video(tmp_path / "s.mp4", frames=out, fps=1, gif=False)
    reader = imageio_ffmpeg.read_frames(str(tmp_path / "s.mp4"))
    meta = next(reader)
    assert tuple(meta["size"]) == (1280, 720)
    assert sum(1 for _ in reader) == res["frames"] >= len(res["captions"])
    np.testing.assert_equal(res["size"], [1280, 720])
    with pytest.raises(ValueError, match="not of 'sparsegpt/class-uniform'"):
        render_sparsegpt_video(tmp_path / "u.mp4", frames=out, method="sparsegpt/class-uniform")
