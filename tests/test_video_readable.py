"""The video can be read: 1280×720 frames, type at least ~14 px high, every axis labelled, a colour
legend, short captions held long enough, the threshold explained before anything is cut, and scores
spanning decades drawn on a log axis where a 50 % cut is seen. Checked on the figure and the frame
plan of a toy model's export, not on pixels (those depend on the fonts installed)."""

import inspect

import numpy as np
import pytest

from site_helpers import toy_model

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """An export of a toy model (a weight score, a data-driven one, a unit one) and real retraining frames."""
    import matplotlib

    matplotlib.use("Agg")
    from nmtprune.site.export import build_export
    from nmtprune.experiments.siteframes.retraining import record_retraining
    from nmtprune.site.schema import validate

    tmp = tmp_path_factory.mktemp("video")
    model = toy_model(tmp)
    frames = record_retraining(
        model, tmp / "frames.json", steps=2, every=1, rows=12, cols=16, dev_sentences=4, progress=lambda *_: None
    )
    # computed here from the toy model: no study stored its site data
    here = {"compute_missing": True} if "compute_missing" in inspect.signature(build_export).parameters else {}
    export = build_export(
        model,
        None,
        scores=("magnitude", "obd", "units-l1"),
        row_scores=("magnitude",),
        samples=0,
        max_rows=24,
        max_cols=16,
        progress=lambda *_: None,
        **here,
    )
    return validate(export), frames


def _method(d, mid):
    return next(m for m in d["methods"] if m["id"] == mid)


def _shown_class(d):
    return max(d["classes"], key=lambda c: c["size"] if c["params"][0]["blocks"] else 0)


def _figure(d, mid):
    from nmtprune.site.video_sweep import sweep_figure
    from nmtprune.site.video_style import Frame

    sw = sweep_figure(d, _method(d, mid), _shown_class(d))
    sw.draw(Frame(0, "a caption", "sweep", None, 50, 50))
    sw.fig.canvas.draw()
    return sw


def _labelled_and_legible(fig):
    from matplotlib.text import Text

    from nmtprune.site.video_style import SIZE

    assert tuple(np.round(fig.get_size_inches() * fig.dpi).astype(int)) == SIZE == (1280, 720)
    fig.canvas.draw()
    assert np.asarray(fig.canvas.buffer_rgba()).shape[:2] == (720, 1280)
    for ax in fig.axes:
        if ax.get_visible():
            assert ax.get_xlabel().strip() and ax.get_ylabel().strip(), ax.get_label()
    texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    small = [(t.get_text(), t.get_fontsize()) for t in texts if t.get_fontsize() * fig.dpi / 72 < 14]
    assert not small  # about 14 px and up on the 1280×720 frame
    assert not [ax for ax in fig.axes if ax.get_visible() and ax.yaxis.get_offset_text().get_text()]  # no "1e6"
    return [t.get_text() for lg in [*fig.legends, *(ax.get_legend() for ax in fig.axes)] if lg for t in lg.get_texts()]


def test_frames_are_1280x720_labelled_legible_with_a_legend(toy):
    import matplotlib.pyplot as plt

    from nmtprune.site.video_training import training_segment

    d, frames = toy
    for mid in ("magnitude/class-uniform", "obd/class-blind"):
        legend = _labelled_and_legible(_figure(d, mid).fig)
        assert {f"kept: {c['name']}" for c in d["classes"]} <= set(legend)  # per-class colours
        assert {"pruned (any class)", "threshold", "weight > 0", "weight < 0", "pruned (set to 0)"} <= set(legend)
    legend = _labelled_and_legible(_figure(d, "magnitude/per-row").fig)  # a cut per row: no line to name
    assert "pruned (any class)" in legend and "threshold" not in legend
    legend = _labelled_and_legible(_figure(d, "units-l1/per-layer").fig)
    assert {"removed units", "threshold"} <= set(legend)
    assert {f"kept: {g['name']}" for g in _method(d, "units-l1/per-layer")["units"]["groups"]} <= set(legend)
    draw = training_segment(frames, "Magnitude", 4)
    assert draw(0).shape == (720, 1280, 3)
    assert "pruned (held at 0)" in _labelled_and_legible(draw.fig)
    plt.close("all")


def test_captions_are_short_and_held_long_enough(toy):
    from nmtprune.site.video import MAX_SECONDS, plan_video
    from nmtprune.site.video_style import MAX_WORDS, MIN_HOLD, WORD_SECONDS, hold_seconds, words
    from nmtprune.site.video_training import training_caption

    d, frames = toy
    assert words("At 50 % sparsity, ½hw² ranks.") == 5 and hold_seconds("one two") == MIN_HOLD == 2.5
    for m in d["methods"]:
        for fps in (10, 4):
            shots, plan = plan_video(d, m, _shown_class(d), fps)
            for k, shot in enumerate(shots):
                n = sum(1 for f in plan if f.shot == k)
                assert words(shot.caption) <= MAX_WORDS, shot.caption
                assert n / fps >= max(MIN_HOLD, WORD_SECONDS * words(shot.caption)) - 1e-9, (m["id"], shot.caption)
                assert [f.caption for f in plan if f.shot == k] == [shot.caption] * n  # one caption, held
            assert len(plan) / fps + 8.0 <= MAX_SECONDS  # with the default retraining segment: within a minute
    for art in (frames, {**frames, "kind": "from-init"}, {**frames, "kind": "greg"}):
        assert words(training_caption(art)) <= MAX_WORDS and hold_seconds(training_caption(art)) <= 8.0


def test_the_threshold_is_explained_before_anything_is_cut(toy):
    from nmtprune.site.video import plan_video
    from nmtprune.site.video_style import THRESHOLD_LEVEL

    d, _ = toy
    for m in d["methods"]:
        _, plan = plan_video(d, m, _shown_class(d), 10)
        first_line = next(i for i, f in enumerate(plan) if f.phase == "threshold")
        first_cut = next(i for i, f in enumerate(plan) if f.cut)
        assert first_line < first_cut, m["id"]
        assert plan[first_line].line == THRESHOLD_LEVEL and plan[first_line].level == 0
        assert plan[-1].level == d["levels"]["max"]  # the sweep reaches the end and holds it
        levels = [f.level for f in plan[first_cut:]]
        assert levels == sorted(levels)


def test_a_wide_score_is_drawn_on_a_log_axis_and_the_cut_shows_at_half(toy):
    from nmtprune.site.video_style import pruned_share

    d, _ = toy
    obd = next(s for s in d["scores"] if s["name"] == "obd")
    h = obd["histogram"]
    assert obd.get("histogram_log")  # a linear axis would hold most weights in its first bar
    assert sum(c[0] for c in h["counts"].values()) > 0.5 * sum(sum(c) for c in h["counts"].values())
    sw = _figure(d, "obd/class-blind")
    hh = sw.hists[None]
    assert hh.ax.get_visible() and hh.ax.get_xscale() == "log"
    dark = np.array([r.get_height() for r in hh.bars["pruned"]])
    total = sum(hh.counts.values())
    assert (dark > 0).sum() >= 5  # several bars, not a sliver in the first one
    assert 0.4 < dark.sum() / total.sum() < 0.6
    assert sw.hists[None].lines[None].get_visible()  # the one class-blind threshold
    assert _figure(d, "magnitude/class-blind").hists[None].ax.get_xscale() == "linear"
    # a bar the line crosses is dark by the share of it below the line (on the log axis: in decades)
    assert np.allclose(pruned_share(np.array([1e-6, 1e-4, 1e-2]), 1e-5, log=True), [0.5, 0.0])
    assert np.allclose(pruned_share(np.array([0.0, 1.0, 2.0]), 1.5, log=False), [1.0, 0.5])
    assert not pruned_share(np.array([0.0, 1.0]), None, log=False).any()


def test_render_writes_1280x720_and_runs_as_long_as_its_captions(toy, tmp_path):
    pytest.importorskip("imageio_ffmpeg")
    import json

    from PIL import Image

    from nmtprune.site.video import plan_video, render_video

    d, _ = toy
    (tmp_path / "e.json").write_text(json.dumps(d), encoding="utf-8")
    res = render_video("magnitude/class-blind", tmp_path / "v.gif", export=str(tmp_path / "e.json"), fps=1)
    assert res["size"] == [1280, 720] and res["training"] is None
    assert res["frames"] == len(plan_video(d, _method(d, "magnitude/class-blind"), _shown_class(d), 1)[1])
    with Image.open(res["gif"]) as g:
        assert g.size == (1280, 720)
