"""``nmtprune video``: the site's animation of one method as an MP4 (H.264) and a GIF, both 1280×720.

The frames are drawn with matplotlib from the same export the site reads (so the video and the
site cannot disagree), in shots planned by :func:`.video_style.plan_frames`: first the score's
distribution (and its ingredients, e.g. OBD's curvature and w²), nothing cut; then the threshold
line at 50 % with a caption saying what it does, still nothing cut; then the sparsity sweeps
0 → 98 %: the histogram's bars turn dark by their pruned share, the chosen class's real matrix fills
with pruned (dark) cells, the per-class pruned shares grow and the BLEU curve's marker follows; the
last level is held. Scores spanning decades (OBD, SNIP, Taylor) are drawn on a log axis (the
export's ``histogram_log``), where a 50 % cut sits mid-picture instead of inside the first bar. A
hidden-unit method (its export entry has ``units``) shows per unit group its units' score histogram
with the cut instead, and the units kept per group (:mod:`.video_units`).

When frames of a real training run under the method's mask exist (``nmtprune site-frames``:
``frames=FILE``, else the export's ``training`` of the method, else
``<frames_dir>/<score>-<selection>-s*.json``), a retraining segment follows
(:func:`.video_training.training_segment`). The pruning part's figure is :mod:`.video_sweep`; the
frames go to MP4 and GIF through :mod:`.video_writer`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from .chunks import read_export
from .export import build_export
from .recorded_frames import load_frames
from .schema import validate
from .video_style import SIZE, THRESHOLD_LEVEL, Shot, natural_frames, plan_frames
from .video_sweep import histogram, sweep_figure
from .video_training import training_segment
from .video_units import unit_shots
from .video_writer import grab, write_video

__all__ = [
    "render_video",
    "frame_count",
    "find_training",
    "plan_video",
    "weight_shots",
    "MAX_SECONDS",
]

MAX_SECONDS = 60.0  # sweep + retraining: a video someone watches to the end


def frame_count(fps: int, seconds: float) -> int:
    return max(2, round(fps * seconds))


def _load_export(export: Optional[str], model_dir: Optional[str], results_dir, method: str) -> dict:
    if export:
        return read_export(export)  # a built site's core and chunks, or a whole export file
    return build_export(model_dir, results_dir, scores=(method.split("/")[0],), samples=0, progress=lambda *_: None)


def find_training(
    method: str, export: dict, frames: Optional[str | Path] = None, frames_dir: Optional[str | Path] = None
) -> Optional[dict]:
    """The training-frames artifact the video shows for ``method``, or None.

    ``frames`` (a file) wins and must be of ``method``; else the export's own artifact of the method
    (what the site shows); else the first artifact of ``method`` in ``frames_dir`` (by file name, as
    the export reads such a folder)."""
    if frames:
        (art,) = load_frames([frames])
        if art["method"] != method:
            raise ValueError(f"{frames}: frames of {art['method']!r}, not of {method!r}")
        return art
    own = next((t for t in export.get("training", []) if t["method"] == method), None)
    if own is not None or not frames_dir or not Path(frames_dir).is_dir():
        return own
    # the folder's first artifact of the method, by file name: the one the site's export would take
    return next((a for a in load_frames([frames_dir]) if a["method"] == method), None)


def _matrix_of(cls: dict) -> str:
    return cls["params"][0]["name"]


_THRESHOLD_WORDS = {
    "class-blind": f"The red line is the threshold: weights scoring below it are pruned. At {THRESHOLD_LEVEL} %, "
    "half fall below.",
    "class-uniform": f"Each class gets its own threshold (dashed, in its colour), cutting {THRESHOLD_LEVEL} % of "
    "every class.",
    "class-distribution": "Each class's threshold is one λ times the class's spread σ_c; λ is set for "
    f"{THRESHOLD_LEVEL} % overall.",
    "per-row": "No line: every row of every matrix is cut on its own, losing the same share of its weights.",
}
# per-row has no threshold to move: the dark share of each bar is counted per row (.rows in the site data)
_SWEEP_WORDS = {
    "per-row": "Now the sparsity grows: each row drops its own lowest weights, so bars darken gradually, not at one line.",
}


def weight_shots(m: dict, score: dict, matrix: str, top: int) -> list[Shot]:
    """The captions of a weight method's video, each at most 20 words (the site's steps say the rest)."""
    sym = score.get("symbol") or score["label"]
    h = histogram(score)
    shots = []
    for st in m["steps"]:
        if st["viz"] != "histogram" or st.get("threshold", "none") != "none":
            continue  # the selection's steps: the threshold shot and the sweep say them
        title = st["title"].split(". ", 1)[-1]
        part = st.get("of") if st.get("of") in score.get("parts", {}) else None
        if part:
            shots.append(
                Shot(
                    f"{title}: the bars count weights by {histogram(score, part)['label']}, coloured by class.",
                    "score",
                    part,
                )
            )
        else:
            note = f" Log axis: the scores span {round(h['hi'] - h['lo'])} decades." if h.get("log") else ""
            shots.append(
                Shot(f"Each weight gets a score {sym}; the bars count weights per score, by class.{note}", "score")
            )
    if not shots:
        shots.append(Shot(f"Each weight gets a score {sym}; the bars count weights per score, by class.", "score"))
    threshold = _THRESHOLD_WORDS.get(
        m["selection"], f"The red line is the threshold: weights scoring below it are pruned, here {THRESHOLD_LEVEL} %."
    )
    return [
        *shots,
        Shot(threshold, "threshold"),
        Shot(
            _SWEEP_WORDS.get(
                m["selection"], "Now the sparsity grows: the threshold moves right and the weights below it turn black."
            ),
            "sweep",
        ),
        Shot("The bars on the right show which share of each weight class is pruned.", "sweep"),
        Shot(f"On the real {matrix} matrix pruned weights turn black; BLEU falls as sparsity grows.", "sweep"),
        Shot(f"At {top} % sparsity only {100 - top} % of the weights remain.", "hold"),
    ]


def plan_video(d: dict, m: dict, cls: dict, fps: int, seconds: Optional[float] = None):
    """The shots and frames of the pruning part; ``seconds`` None: as long as the captions need."""
    top = d["levels"]["max"]
    score = next(s for s in d["scores"] if s["name"] == m["score"])
    shots = unit_shots(m, score, top) if "units" in m else weight_shots(m, score, _matrix_of(cls), top)
    n = frame_count(fps, seconds) if seconds is not None else sum(natural_frames(shots, fps))
    return shots, plan_frames(shots, fps, n, top)


def render_video(
    method: str,
    out: str | Path,
    *,
    export: Optional[str] = None,
    model_dir: Optional[str] = None,
    results_dir=None,
    fps: int = 10,
    seconds: Optional[float] = None,
    weight_class: Optional[str] = None,
    gif: bool = True,
    frames: Optional[str | Path] = None,
    frames_dir: Optional[str | Path] = None,
    train_seconds: float = 8.0,
) -> dict:
    """Write ``out`` (.mp4; a .gif beside it unless ``gif=False``; or just a .gif). Returns paths and frame counts.

    ``seconds``: the pruning part (None: as long as its captions need to be read); ``train_seconds``:
    the retraining segment, present when :func:`find_training` finds frames (``frames``,
    ``frames_dir``). Together at most a minute."""
    import matplotlib

    matplotlib.use("Agg")

    d = validate(_load_export(export, model_dir, results_dir, method))
    m = next((x for x in d["methods"] if x["id"] == method), None)
    if m is None:
        raise ValueError(f"unknown method {method!r}; the export has {[x['id'] for x in d['methods']]}")
    cls = (
        next((c for c in d["classes"] if c["name"] == weight_class), None)
        if weight_class
        else max(d["classes"], key=lambda c: c["size"] if c["params"][0]["blocks"] else 0)
    )  # an LSTM class shows the gates
    if cls is None:
        raise ValueError(f"unknown weight class {weight_class!r}")
    training = find_training(method, d, frames, frames_dir)
    shots, plan = plan_video(d, m, cls, fps, seconds)
    total = len(plan) / fps + (train_seconds if training else 0)
    if total > MAX_SECONDS + 1e-9:
        raise ValueError(f"the video would last {total:g} s; keep --seconds (+ --train-seconds) within {MAX_SECONDS:g}")
    sweep = sweep_figure(d, m, cls)
    segments = [(len(plan), lambda i: (sweep.draw(plan[i]), grab(sweep.fig))[1])]
    if training is not None:
        nt = frame_count(fps, train_seconds)
        segments.append((nt, training_segment(training, m["label"], nt)))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "method": method,
        "class": cls["name"],
        "fps": fps,
        "size": list(SIZE),
        "frames": sum(k for k, _ in segments),
        "training_frames": segments[1][0] if training is not None else 0,
        "training": training["id"] if training is not None else None,
        "bleu_points": sweep.bleu_points,
        "panels": "units" if sweep.units else "classes",
        "captions": [s.caption for s in shots],
    }
    result.update(write_video(out, segments, fps, gif))
    result["parts_shown"] = sorted(sweep.parts_shown)
    return result
