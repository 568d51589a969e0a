"""The site's recorded runs are study cells (toy model): each entry of a ``site`` section's ``frames``
list is a ``site-frames`` cell whose result is the recording, stored with the sweep's command, commit,
seed and machine; the site and the SparseGPT video read it back from the results folder, and the
section refuses an entry with a key its record does not use, an unknown record or a duplicate."""

import json
from pathlib import Path

import pytest

from site_helpers import GREG_STUDY, toy_model

STUDY = """\
model: {model}
split: test
dev_split: dev
beam: 1
max_sentences: 6
site:
  scores: [magnitude]
  samples: 0
  max_rows: 24
  max_cols: 16
  frames:
    - {{record: retraining, score: magnitude, sparsity: 0.5, steps: 2, every: 1, rows: 4, cols: 4, dev_sentences: 2}}
    - {{record: greg, study: {greg}, every: 1, rows: 12, cols: 16, dev_sentences: 4}}
    - {{record: sparsegpt, rows: 8, cols: 12, batches: 1}}
"""


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    from nmtprune.experiments.sweep import run_sweep

    tmp = tmp_path_factory.mktemp("frames-cells")
    model = toy_model(tmp)
    greg = tmp / "units.yaml"
    greg.write_text(GREG_STUDY.format(model=model), encoding="utf-8")
    study = tmp / "frames-toy.yaml"
    study.write_text(STUDY.format(model=model, greg=greg), encoding="utf-8")
    argv = ["sweep", str(study), "--only", "site-frames"]
    summary = run_sweep(
        study, only=["site-frames"], results_dir=tmp / "results", work_dir=tmp / "work", progress=False, argv=argv
    )
    return {"model": model, "study": study, "greg": greg, "results": tmp / "results" / "frames-toy", "summary": summary}


def test_each_entry_is_a_cell_whose_result_is_the_recording(swept):
    from nmtprune.experiments.siteframes.retraining import record_retraining

    s = swept["summary"]
    assert (s["cells"], s["ok"], s["failed"]) == (3, 3, 0)
    files = sorted(swept["results"].glob("site-frames_*.json"))
    names = [f.name.rsplit("-", 1)[0] for f in files]
    assert names == [
        "site-frames_magnitude-class-blind-s50",
        "site-frames_sparsegpt-class-blind-s80",
        "site-frames_units-greg-1-per-layer",
    ]
    res = json.loads(files[0].read_text(encoding="utf-8"))
    assert res["kind"] == "site-frames" and res["status"] == "ok" and res["seed"] == 0
    assert res["provenance"]["command"].startswith("nmtprune sweep") and "provenance" not in res["metrics"]
    # the cell's recording is the recorder's, run with the entry's keys (and the record's defaults)
    direct = record_retraining(
        swept["model"], None, sparsity=0.5, steps=2, every=1, rows=4, cols=4, dev_sentences=2, progress=lambda *_: None
    )
    direct.pop("provenance")
    assert res["metrics"] == json.loads(json.dumps(direct))


def test_the_site_and_the_video_read_the_cells_results(swept):
    from nmtprune.site.export import build_export
    from nmtprune.site.recorded_frames import SPARSEGPT_FORMAT, load_frames, load_recordings
    from nmtprune.site.video_sparsegpt import find_sparsegpt_frames

    arts = load_frames([swept["results"]])
    assert sorted(a["id"] for a in arts) == ["greg-1/per-layer@50", "magnitude/class-blind@50"]
    for a in arts:  # the result's provenance: how to run it again
        p = a["provenance"]
        assert p["command"].startswith("nmtprune sweep") and {"commit", "machine", "seed", "seconds"} <= set(p)
    (sg,) = load_recordings([swept["results"]], SPARSEGPT_FORMAT)
    assert sg["method"] == "sparsegpt/class-blind" and find_sparsegpt_frames(frames_dir=swept["results"]) == sg
    ex = build_export(
        swept["model"],
        None,
        scores=("magnitude",),
        schemes=["class-blind"],
        samples=0,
        max_rows=24,
        max_cols=16,
        frames=[swept["results"]],
        progress=lambda *_: None,
    )
    assert sorted(t["id"] for t in ex["training"]) == ["greg-1/per-layer@50", "magnitude/class-blind@50"]
    assert all(t["matched_model"] for t in ex["training"])


def test_a_result_file_without_a_recording_is_refused_by_name(swept, tmp_path):
    from nmtprune.site.recorded_frames import load_frames

    other = tmp_path / "r.json"
    other.write_text(json.dumps({"format": "nmtprune-result", "kind": "prune-eval", "status": "ok"}), encoding="utf-8")
    with pytest.raises(ValueError, match=r"r\.json: holds no nmtprune-site-frames"):
        load_frames([other])
    failed = json.loads(sorted(swept["results"].glob("site-frames_magnitude*.json"))[0].read_text(encoding="utf-8"))
    other.write_text(json.dumps({**failed, "status": "failed", "metrics": None}), encoding="utf-8")
    with pytest.raises(ValueError, match="holds no"):
        load_frames([other])


@pytest.mark.parametrize(
    "entry, key",
    [
        ("{record: sparsegpt, steps: 5}", r"site\.frames\[0\]\.steps.*not used by record 'sparsegpt'"),
        ("{record: film}", r"site\.frames\[0\]\.record.*one of"),
        ("{record: retraining, score: nope}", r"site\.frames\[0\]\.score.*unknown weight score"),
        ("{record: greg, mode: greg-3}", r"site\.frames\[0\]\.mode"),
        ("{record: sparsegpt, rows: 6}", r"site\.frames\[0\]\.rows.*multiple of 4"),
        ("{record: retraining, steps: 2, every: 5}", r"site\.frames\[0\]\.steps.*>= every"),
        ("{record: retraining, colour: red}", r"site\.frames\[0\]\.colour"),
    ],
)
def test_the_frames_list_rejects_what_its_record_does_not_use(swept, tmp_path, entry, key):
    from nmtprune.config import ConfigError
    from nmtprune.experiments.study import load_study

    text = swept["study"].read_text(encoding="utf-8")
    head = text[: text.index("  frames:\n")]
    bad = tmp_path / "bad.yaml"
    bad.write_text(head + f"  frames:\n    - {entry}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=key) as err:
        load_study(bad)
    assert len(str(err.value).splitlines()) == 1


def test_a_run_listed_twice_is_refused(swept, tmp_path):
    from nmtprune.config import ConfigError
    from nmtprune.experiments.study import load_study

    text = swept["study"].read_text(encoding="utf-8")
    again = "    - {record: sparsegpt, rows: 16}\n"  # other settings, the same name (method and sparsity)
    bad = tmp_path / "twice.yaml"
    bad.write_text(text + again, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"site\.frames\[3\].*same run as site\.frames\[2\]"):
        load_study(bad)


def test_the_shipped_site_study_records_what_the_site_and_videos_animate():
    from nmtprune.experiments.study import load_study

    root = Path(__file__).resolve().parents[1]
    st = load_study(root / "studies" / "site.yaml", check_model=False)
    names = {f.name() for f in st.site.frames}
    assert names == {
        "magnitude-class-blind-s80",
        "snip-init-class-blind-s80",
        "grasp-init-class-blind-s80",
        "units-greg-1-per-layer",
        "sparsegpt-class-blind-s80",
    }
