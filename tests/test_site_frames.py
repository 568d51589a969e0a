"""The site's data beyond the masks, on a toy model: the retraining frames are a real masked
retraining (the same weights as an independent run of the recipe), a new score reaches the site
through its spec alone, and the static sources ship inside the package."""

import base64
import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from nmtprune.prune import get_score, select
from nmtprune.experiments.siteframes.retraining import FORMAT, record_retraining
from nmtprune.site.recorded_frames import load_frames
from site_helpers import ROOT, fake_results, toy_model


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return toy_model(tmp_path_factory.mktemp("frames"))


def _cells(b64, dtype):
    return np.frombuffer(base64.b64decode(b64), dtype)


def test_frames_are_a_real_masked_retraining(model, tmp_path):
    from nmtprune.prune.retrain import retrain_config
    from nmtprune.train.checkpoint import load_model
    from nmtprune.train.loop import train

    art = record_retraining(
        model, tmp_path / "f.json", steps=4, every=2, rows=64, cols=64, dev_sentences=6, progress=lambda *_: None
    )
    assert json.loads((tmp_path / "f.json").read_text(encoding="utf-8")) == art
    assert art["format"] == FORMAT and [f["step"] for f in art["frames"]] == [0, 2, 4]
    assert art["provenance"]["commit"] and "record_retraining" in art["provenance"]["command"]
    m, cfg, sv, tv = load_model(model)
    assert art["recipe"]["lr"] == pytest.approx(cfg.train.lr * 0.5)  # See et al.'s recipe: half the learning rate
    keep = _cells(art["keep"], np.uint8).astype(bool)
    assert keep.mean() == pytest.approx(1 - 0.8, abs=0.1)
    # the same steps of the same recipe, run independently, end at the recorded weights
    masks = select(get_score("magnitude")(m, seed=0), m, 0.8, "class-blind")
    masks.apply(m)
    w_start = m.state_dict()[art["param"]].clone()
    rcfg = retrain_config(cfg, 0, ["train.max_steps=4", "train.save_every=0", "train.threads=1"])
    m.train()
    train(rcfg, tmp_path / "run", progress=False, init_model=m, vocabs=(sv, tv), masks=masks)
    rs, cs = art["row_stride"], art["col_stride"]
    w_end = m.state_dict()[art["param"]][::rs, ::cs].reshape(-1).numpy()
    recorded = (
        w_start[::rs, ::cs].reshape(-1).numpy() + _cells(art["frames"][-1]["delta"], np.int8) / 127 * art["delta_scale"]
    )
    assert np.abs(w_end - recorded).max() <= art["delta_scale"] / 127  # int8 rounding only
    assert not w_end[~keep].any() and np.abs(w_end - w_start[::rs, ::cs].reshape(-1).numpy())[keep].max() > 0
    tr = art["traces"][0]
    assert tr["values"][-1] == pytest.approx(float(m.state_dict()[art["param"]][tr["row"], tr["col"]]), abs=1e-5)


def test_at_init_frames_train_the_scored_initialisation(model, tmp_path):
    """snip-init scores a re-initialised copy: the frames are that copy trained under the mask with the
    reference recipe (sparse from scratch), not the trained model retrained; the site shows them."""
    from nmtprune.config import with_overrides
    from nmtprune.prune.scores._data import variance_scaling_copy
    from nmtprune.experiments.sitedata.runner import score_runner
    from nmtprune.site.export import build_export
    from nmtprune.site.schema import validate
    from nmtprune.train.checkpoint import load_model
    from nmtprune.train.loop import train

    f = tmp_path / "snip-init-class-blind-s80.json"
    art = record_retraining(
        model, f, score="snip-init", steps=4, every=2, rows=64, cols=64, dev_sentences=6, progress=lambda *_: None
    )
    m, cfg, sv, tv = load_model(model)
    assert art["kind"] == "from-init" and art["init"] == {"kind": "variance-scaling", "seed": 0}
    assert art["recipe"]["lr"] == pytest.approx(cfg.train.lr)  # the training recipe, not half-lr retraining
    masks = select(score_runner(cfg, sv, tv, 0)("snip-init", m), m, 0.8, "class-blind")
    fresh = variance_scaling_copy(m, 0)
    masks.apply(fresh)
    rs, cs, p = art["row_stride"], art["col_stride"], art["param"]
    keep = _cells(art["keep"], np.uint8).astype(bool)
    assert (keep == masks[p][::rs, ::cs].reshape(-1).numpy()).all()
    w0 = _cells(art["w0"], np.int8) / 127 * art["w0_scale"]
    init, trained = (x.state_dict()[p][::rs, ::cs].reshape(-1).numpy() for x in (fresh, m))
    assert np.abs(w0 - init).max() <= art["w0_scale"] / 127  # frame 0: the re-initialised weights...
    assert np.abs(w0 - trained * keep).max() > 10 * art["w0_scale"] / 127  # ...not the trained ones
    assert not w0[~keep].any() and all(
        fr["pruned_nonzero"] == 0 and not _cells(fr["delta"], np.int8)[~keep].any() for fr in art["frames"]
    )  # pruned positions stay zero in every frame
    # the same steps of the training recipe from that initialisation, run independently
    fresh.train()
    train(
        with_overrides(cfg, ["train.max_steps=4", "train.save_every=0", "train.threads=1"], seed=0),
        tmp_path / "run",
        progress=False,
        init_model=fresh,
        vocabs=(sv, tv),
        masks=masks,
    )
    w_end = fresh.state_dict()[p][::rs, ::cs].reshape(-1).numpy()
    recorded = init + _cells(art["frames"][-1]["delta"], np.int8) / 127 * art["delta_scale"]
    assert np.abs(w_end - recorded).max() <= art["delta_scale"] / 127 and np.abs(w_end - init)[keep].max() > 0
    ex = validate(
        build_export(
            model, None, scores=["snip-init"], schemes=["class-blind"], samples=0, frames=[f], progress=lambda *_: None
        )
    )
    (meth,) = ex["methods"]
    assert ex["training"][0]["kind"] == "from-init" and meth["training"] == [art["id"]] == ["snip-init/class-blind@80"]
    assert meth["steps"][-1]["viz"] == "training" and meth["steps"][-1]["training"] == art["id"]
    assert "initialisation" in meth["steps"][-1]["title"] and "at initialisation" in meth["steps"][-1]["text"]
    # without a score list, a score whose frames were recorded on this model joins the defaults
    names = [
        s["name"]
        for s in build_export(model, None, schemes=["class-blind"], samples=0, frames=[f], progress=lambda *_: None)[
            "scores"
        ]
    ]
    assert names[:2] == ["magnitude", "random"] and "snip-init" in names


def test_load_frames_reads_files_and_folders(model, tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "other.json").write_text('{"format": "nmtprune-result"}', encoding="utf-8")  # skipped
    art = record_retraining(
        model, tmp_path / "d" / "f.json", steps=1, every=1, rows=4, cols=4, dev_sentences=2, progress=lambda *_: None
    )
    assert [a["id"] for a in load_frames([tmp_path / "d"])] == [art["id"]]
    with pytest.raises(ValueError, match="holds no nmtprune-site-frames"):
        load_frames([tmp_path / "d" / "other.json"])
    (tmp_path / "v9.json").write_text(json.dumps({**art, "version": 9}), encoding="utf-8")
    with pytest.raises(ValueError, match="version 9"):
        load_frames([tmp_path / "v9.json"])
    with pytest.raises(ValueError, match="steps >= every"):
        record_retraining(model, None, steps=1, every=2)


@pytest.fixture
def registered():
    """register_score for one test: the names it registered are forgotten afterwards."""
    from nmtprune.prune import register_score, unregister_score

    names = []

    def register(spec, **kw):
        names.append(spec.name)
        return register_score(spec, **kw)

    yield register
    for name in names:
        unregister_score(name)


def test_a_new_score_reaches_the_site_with_one_spec(model, tmp_path, registered):
    """What a score's author does: declare its spec; the export picks it up from the study results, with
    the generic walk-through, or with its own words, steps and parts once the spec has them."""
    from nmtprune.experiments.grid import model_hash
    from nmtprune.prune import Part, ScoreSpec, Step
    from nmtprune.site import export
    from nmtprune.site.schema import validate

    def inverse(model, **_):  # a toy "saliency": large weights first
        return {n: -p.detach().abs() for n, p in model.named_parameters()}

    calls = []

    def needy(model, batches=None, seed=None, **_):  # like OBD/SNIP: its spec says how many scoring batches
        calls.append((len(batches), seed))  # the toy's 50 training pairs make one batch of 64
        return {
            n: p.detach().abs() * (1 + 0.01 * float(batches[0].src.float().mean())) for n, p in model.named_parameters()
        }

    registered(ScoreSpec("inverse", inverse))
    registered(ScoreSpec("needy", needy, n_batches=2))
    fake_results(
        tmp_path / "results" / "s", model_hash(model), scores=("magnitude", "inverse", "needy", "not-yet-written")
    )
    ex = validate(
        export.build_export(model, tmp_path / "results", samples=1, split="test", seed=3, progress=lambda *_: None)
    )
    assert [s["name"] for s in ex["scores"]] == ["magnitude", "random", "inverse", "needy", "units-l1"]
    assert calls and all(c == (1, 3) for c in calls)  # export and samples both fed it
    assert all(len(m["samples"]) > 1 for m in ex["methods"] if m["score"] == "needy")
    assert ex["results"]["skipped_scores"] == ["not-yet-written"]  # studied elsewhere, not computable here
    inv = next(m for m in ex["methods"] if m["id"] == "inverse/class-blind")
    assert inv["curve"] and inv["steps"][0]["viz"] == "histogram" and inv["steps"][-1]["viz"] == "matrix"
    registered(
        ScoreSpec(
            "inverse",
            inverse,
            site_label="Inverse",
            symbol="−|w|",
            text="Large weights first.",
            formula=r"-|w|",
            steps=(Step("Its input", "The weights.", "w", part="w2"), Step("The score", "Minus their size.", r"-|w|")),
            parts=(Part("w2", "", lambda m, sc, ctx: {n: -s for n, s in sc.items()}),),
        ),
        replace=True,
    )
    ex = validate(
        export.build_export(
            model, None, scores=["inverse"], schemes=["class-uniform"], samples=0, progress=lambda *_: None
        )
    )
    (m,) = ex["methods"]
    assert [s["title"] for s in m["steps"][:2]] == ["1. Its input", "2. The score"] and m["steps"][0]["of"] == "w2"
    assert ex["scores"][0]["parts"]["w2"]["lo"] >= 0 and ex["scores"][0]["label"] == "Inverse"


def test_static_sources_ship_in_the_wheel_and_are_found_there(tmp_path):
    """Built from an installed package, not a checkout: the wheel carries the HTML/CSS/JS."""
    import shutil

    from nmtprune.site.build import STATIC_ENV, copy_static, static_root

    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "nmtprune", src / "nmtprune", ignore=shutil.ignore_patterns("__pycache__"))
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "whl"),
            str(src),
        ],
        capture_output=True,
        text=True,
    )
    if res.returncode != 0 and "No module named" in res.stderr:
        pytest.skip(f"cannot build a wheel here: {res.stderr[-200:]}")
    assert res.returncode == 0, res.stderr[-2000:]
    (whl,) = (tmp_path / "whl").glob("nmtprune-*.whl")
    names = set(zipfile.ZipFile(whl).namelist())
    static = {n.split("static/", 1)[1] for n in names if n.startswith("nmtprune/site/static/")}
    shipped = {
        str(p.relative_to(ROOT / "nmtprune/site/static"))
        for p in (ROOT / "nmtprune/site/static").rglob("*")
        if p.is_file()
    }
    assert static == shipped and "index.html" in static and "js/views/compare.js" in static
    zipfile.ZipFile(whl).extractall(tmp_path / "installed")
    code = (
        "import sys; from nmtprune.site.build import copy_static, static_root; "
        "print(static_root()); print(copy_static(sys.argv[1]))"
    )
    res = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "site")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path / "installed"), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"},
    )
    assert res.returncode == 0, res.stderr[-2000:]
    where, n = res.stdout.split()
    assert where.startswith(str(tmp_path / "installed")) and int(n) == len(shipped)
    assert (tmp_path / "site" / "js" / "main.js").read_bytes() == (
        ROOT / "nmtprune/site/static/js/main.js"
    ).read_bytes()
    with pytest.raises(FileNotFoundError, match="--static"):
        static_root(tmp_path / "nowhere")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(STATIC_ENV, str(tmp_path / "nowhere"))
        with pytest.raises(FileNotFoundError, match=STATIC_ENV):
            copy_static(tmp_path / "x")
        mp.setenv(STATIC_ENV, str(tmp_path / "site"))  # a copy elsewhere (e.g. while editing the JS)
        assert copy_static(tmp_path / "y") == len(shipped)
