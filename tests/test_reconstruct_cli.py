"""Selections as specs (per-row, N:M) and SparseGPT as a method that updates weights, from the CLI and a study.

A tiny random model (hidden 8, embeddings 8) over the toy corpus: every matrix is 8 or 16 wide, so
2:4 and 4:8 fit everywhere; calibration is a few toy sentences.
"""

import json

import pytest
import torch

from nmtprune.cli import main
from nmtprune.config import ConfigError
from nmtprune.experiments import load_study, plan
from nmtprune.models.trace import Gram, trace_batches
from nmtprune.prune import get_score, get_selection, run_score, select, selection_names
from nmtprune.prune.obs import JointGram, reconstruction_error
from nmtprune.prune.scores import load_scoring_batches
from nmtprune.sparse.masks import MaskSet
from nmtprune.sparse.targets import class_groups, prunable
from nmtprune.train.checkpoint import load_model
from experiment_helpers import make_model, sweep, write_study

CALIB = 16  # calibration sentences


@pytest.fixture(scope="module")
def dense(tmp_path_factory):
    return make_model(tmp_path_factory.mktemp("reconstruct") / "dense")


def prune(dense, out, *args):
    assert main(["prune", str(dense), "--out", str(out), "--calib-sentences", str(CALIB), *args]) == 0
    model, *_ = load_model(out)
    return model, MaskSet.load(out / "masks.safetensors"), json.loads((out / "prune.json").read_text())


def pruned_counts(model, masks):
    return {c: sum(int((~masks[n]).sum()) for n, _ in g) for c, g in class_groups(model)}


def test_existing_schemes_are_specs_with_the_same_masks(dense):
    model, *_ = load_model(dense)
    scores = run_score("magnitude", model)
    assert selection_names()[:5] == ["class-blind", "class-uniform", "class-distribution", "per-row", "N:M"]
    for scheme in ("class-blind", "class-uniform", "class-distribution"):
        a, b = select(scores, model, 0.7, scheme), get_selection(scheme)(scores, model, 0.7)
        assert a.equal(b) and a.info == b.info


def test_per_row_and_nm_selections_are_exact(dense):
    model, *_ = load_model(dense)
    scores = run_score("magnitude", model)
    rows = get_selection("per-row")(scores, model, 0.6)
    for _, name, p in prunable(model):
        assert ((~rows[name]).sum(1) == round(0.6 * p.shape[1])).all()  # a stored row: a token's vector too
    for pattern, (n, m) in (("2:4", (2, 4)), ("4:8", (4, 8))):
        spec = get_selection(pattern)
        assert spec.fixed_sparsity == 1 - n / m and "tensor cores" in spec.notes
        masks = spec(scores, model, None)
        for _, name, p in prunable(model):
            assert (masks[name].reshape(p.shape[0], -1, m).sum(-1) == n).all()
        assert masks.info["dense_matrices"] == [] and masks.info["sparsity"] == 1 - n / m


def test_nm_leaves_a_matrix_of_odd_width_dense_and_says_so():
    from test_model_trace import make  # embeddings 3 wide, hidden 6: nothing divides by 4 but W_c (12)

    model = make()
    masks = get_selection("2:4")(run_score("magnitude", model), model, None)
    assert "attention.W_c" not in masks.info["dense_matrices"] and "src_emb.weight" in masks.info["dense_matrices"]
    assert all(bool(masks[n].all()) for n in masks.info["dense_matrices"])
    assert masks.info["sparsity"] == masks.info["n_pruned"] / masks.info["n_total"] < 0.5


@pytest.mark.parametrize("select_", ["class-blind", "class-uniform", "per-row", "2:4"])
def test_cli_sparsegpt_exact_sparsity(dense, tmp_path, select_):
    args = ["--score", "sparsegpt", "--select", select_, "--damp", "0.02", "--block-size", "8"]
    model, masks, meta = prune(dense, tmp_path / "p", *args, *(["--sparsity", "0.75"] if select_ != "2:4" else []))
    ref, *_ = load_model(dense)
    counts, total = pruned_counts(model, masks), sum(p.numel() for _, _, p in prunable(model))
    if select_ == "class-blind":  # magnitude's class-blind count in every matrix
        mag = select(run_score("magnitude", ref), ref, 0.75, "class-blind")
        assert counts == pruned_counts(ref, mag) and sum(counts.values()) == round(0.75 * total)
    elif select_ == "class-uniform":
        for c, g in class_groups(model):
            assert counts[c] == round(0.75 * sum(p.numel() for _, p in g))
    elif select_ == "per-row":  # an LSTM row is a gate row of [W_ih W_hh]; elsewhere a stored row
        for c, g in class_groups(model):
            joint = torch.cat([masks[n] for n, _ in g], dim=1) if len(g) == 2 and "weight_ih" in g[0][0] else None
            for m in [joint] if joint is not None else [masks[n] for n, _ in g]:
                assert ((~m).sum(1) == round(0.75 * m.shape[1])).all()
    else:
        for _, name, p in prunable(model):
            assert (masks[name].reshape(p.shape[0], -1, 4).sum(-1) == 2).all()
        assert meta["selection"]["dense_matrices"] == []
    for _, name, p in prunable(model):  # pruned weights are 0; some kept weights moved
        assert not p[~masks[name]].any()
    moved = sum(int((p != dict(ref.named_parameters())[n])[masks[n]].sum()) for _, n, p in prunable(model))
    assert moved > 0
    assert meta["score"] == "sparsegpt" and meta["scoring"]["sentences"] == CALIB
    assert meta["scoring"]["options"] == {"damp": 0.02, "block_size": 8}
    assert meta["selection"]["reconstruction"]["method"] == "sparsegpt"


def test_sparsegpt_mask_control_keeps_the_masks_and_the_trained_weights(dense, tmp_path):
    """sparsegpt-mask: SparseGPT's own masks, every surviving weight at its dense value (no update)."""
    args = ["--select", "class-blind", "--sparsity", "0.6", "--block-size", "8"]
    full, full_masks, _ = prune(dense, tmp_path / "full", "--score", "sparsegpt", *args)
    ctrl, ctrl_masks, meta = prune(dense, tmp_path / "ctrl", "--score", "sparsegpt-mask", *args)
    ref = dict(load_model(dense)[0].named_parameters())
    moved = 0
    for _, name, p in prunable(ctrl):
        assert torch.equal(ctrl_masks[name], full_masks[name])
        assert torch.equal(p, ref[name] * ctrl_masks[name])
        moved += int((dict(full.named_parameters())[name] != p)[full_masks[name]].sum())
    assert moved > 0  # the control differs from SparseGPT only where the update moved a kept weight
    assert meta["selection"]["reconstruction"]["weights"] == "dense (mask only, no update)"


@pytest.mark.parametrize("select_", ["per-row", "2:4"])
def test_cli_wanda_exact_sparsity(dense, tmp_path, select_):
    model, masks, meta = prune(
        dense,
        tmp_path / "w",
        "--score",
        "wanda",
        "--select",
        select_,
        *(["--sparsity", "0.5"] if select_ == "per-row" else []),
    )
    for _, name, p in prunable(model):
        if select_ == "per-row":
            assert ((~masks[name]).sum(1) == round(0.5 * p.shape[1])).all()
        else:
            assert (masks[name].reshape(p.shape[0], -1, 4).sum(-1) == 2).all()
    assert meta["stats"]["overall"]["sparsity"] == 0.5 and meta["select"] == select_


def test_cli_refuses_a_sparsity_that_contradicts_nm(dense, tmp_path):
    assert main(["prune", str(dense), "--select", "2:4", "--sparsity", "0.7", "--out", str(tmp_path / "x")]) != 0


def test_sparsegpt_reconstructs_better_than_magnitude_with_the_same_counts(dense, tmp_path):
    """Per matrix, on the calibration inputs it was fitted to (the classes before it pruned, itself and the
    later ones dense), SparseGPT's output error is at most that of magnitude's mask with the same count."""
    from nmtprune.prune.reconstruct import flow_order
    from nmtprune.prune.threshold import prune_lowest

    model, masks, _ = prune(
        dense, tmp_path / "p", "--score", "sparsegpt", "--select", "class-blind", "--sparsity", "0.6"
    )
    ref, cfg, sv, tv = load_model(dense)
    batches = load_scoring_batches(cfg, sv, tv, 1, CALIB, 0)
    pruned = dict(model.named_parameters())
    checked = 0
    for cname, group in flow_order(ref):
        lstm = len(group) == 2 and "weight_ih" in group[0][0]
        if not cname.endswith("emb"):  # the embeddings get no update (diagonal H): nothing to compare
            red = JointGram(ref) if lstm else Gram(ref)
            trace_batches(ref, batches, red, params=[cname])
            grams = red.finish() if lstm else red.stats
            parts = [[n for n, _ in group]] if lstm else [[n] for n, _ in group]
            for names in parts:
                W = torch.cat([dict(ref.named_parameters())[n].detach() for n in names], 1)
                W_new = torch.cat([pruned[n].detach() for n in names], 1)
                k = int((~torch.cat([masks[n] for n in names], 1)).sum())
                mag = W * prune_lowest(W.abs().reshape(-1), k)[0].view_as(W)
                H = grams[cname] if lstm else grams[names[0]]
                e_sgpt, e_mag = reconstruction_error(W, W_new, H), reconstruction_error(W, mag, H)
                assert e_sgpt <= e_mag, (names, float(e_sgpt), float(e_mag))
                checked += 1
        with torch.no_grad():  # this class is now pruned as the CLI pruned it: the next one sees its outputs
            for n, p in group:
                p.copy_(pruned[n])
    assert checked == ref.cfg.enc_layers + ref.cfg.dec_layers + 3  # every LSTM layer, W_a, W_c, the softmax


STUDY = """\
model: {model}
split: test
dev_split: dev
beam: 1
max_sentences: 4
prune_eval:
  sparsities: [0.0, 0.7]
  methods:
    - {{score: sparsegpt, schemes: [class-blind, "2:4"]}}
    - {{score: wanda, schemes: [per-row]}}
"""


def test_a_study_cell_runs_sparsegpt_through_the_sweep(tmp_path):
    study = write_study(tmp_path, STUDY, "recon")
    ids = [c.id.rsplit("-", 1)[0] for c in plan(load_study(study))]
    assert ids == [
        "prune-eval_dense",
        "prune-eval_sparsegpt_class-blind_s70_seed0",
        "prune-eval_sparsegpt_2of4_s50_seed0",
        "prune-eval_wanda_per-row_s70_seed0",
    ]
    summary = sweep(study, tmp_path)
    assert summary["failed"] == 0 and summary["ran"] == 4
    results = {
        p.stem.rsplit("-", 1)[0]: json.loads(p.read_text())["metrics"]
        for p in (tmp_path / "results" / "recon").glob("*.json")
    }
    cell = results["prune-eval_sparsegpt_class-blind_s70_seed0"]
    assert results["prune-eval_sparsegpt_2of4_s50_seed0"]["masks"]["info"]["nm"] == "2:4"
    assert cell["masks"]["stats"]["overall"]["sparsity"] == pytest.approx(0.7, abs=1e-3)
    assert cell["masks"]["info"]["reconstruction"]["method"] == "sparsegpt"
    assert get_score("sparsegpt").reconstruct is not None and get_score("wanda").reconstruct is None


RETRAIN = """\
retrain:
  sparsities: [0.9]
  scores: [sparsegpt]
  seeds: [1, 2]
  selected: [wanda@per-row, "magnitude@2:4"]
  scratch: false
  dense_continued: false
"""


def test_retraining_under_another_selection_is_queued_once_per_selected_seed(tmp_path):
    """retrain.selected: one-shot runs under their own selection; an N:M pattern at its own sparsity."""
    study = write_study(tmp_path, STUDY + RETRAIN, "recon_rt")
    ids = [c.id.rsplit("-", 1)[0] for c in plan(load_study(study)) if c.kind == "retrain"]
    assert ids == [
        "retrain_sparsegpt_class-blind_s90_seed1",
        "retrain_sparsegpt_class-blind_s90_seed2",
        "retrain_wanda_per-row_s90_seed1",
        "retrain_magnitude_2of4_s50_seed1",
    ]
    bad = write_study(tmp_path, STUDY + RETRAIN.replace("wanda@per-row", "wanda"), "bad")
    with pytest.raises(ConfigError, match=r"key 'retrain.selected\[0\]' must be SCORE@SELECTION"):
        load_study(bad)
    bad.write_text(bad.read_text().replace("[wanda,", "[wanda@rows,"))
    with pytest.raises(ConfigError, match=r"key 'retrain.selected\[0\]' names an unknown scheme 'rows'"):
        load_study(bad)


def test_a_registered_selection_is_usable_by_name_in_a_study(tmp_path):
    from nmtprune.prune import SelectionSpec, register_selection, unregister_selection
    from nmtprune.prune.rowwise import per_row_select

    register_selection(SelectionSpec("rows-again", per_row_select, reconstruct_as="row"))
    try:
        study = write_study(tmp_path, STUDY.replace("schemes: [per-row]", "schemes: [rows-again]"), "plug")
        assert any("_wanda_rows-again_s70_" in c.id for c in plan(load_study(study)))
        with pytest.raises(ValueError, match="already registered"):
            register_selection(SelectionSpec("per-row", per_row_select))
    finally:
        unregister_selection("rows-again")
    with pytest.raises(ValueError, match="unknown selection"):
        get_selection("rows-again")


def test_sparsegpt_as_a_plain_score_is_the_obs_cost_of_one_weight():
    from test_model_trace import Batch, make
    from nmtprune.prune.sparsegpt import damped_hessian

    model, batches = make(), [Batch(seed=0), Batch(seed=1)]
    scores = run_score("sparsegpt", model, batches)
    gram = Gram(model)
    trace_batches(model, batches, gram, params=["softmax"])
    W = model.generator.weight.detach()
    d = torch.linalg.inv(damped_hessian(gram.stats["generator.weight"], 0.01)[0]).diagonal()
    torch.testing.assert_close(scores["generator.weight"], W.pow(2) / d[None, :])
    assert {n for _, n, _ in prunable(model)} == set(scores)


def test_a_class_breakdown_of_sparsegpt_keeps_its_updates_in_the_pruned_class(tmp_path):
    text = STUDY + "class_breakdown: {{sparsity: 0.7, scores: [sparsegpt], schemes: [class-blind]}}\n"
    study = write_study(tmp_path, text, "breakdown")
    assert sweep(study, tmp_path, only=["class-breakdown"])["failed"] == 0
    st = load_study(study)
    cell = next(c for c in plan(st) if c.kind == "class-breakdown" and c.params["weight_class"] == "softmax")
    got = json.loads(next((tmp_path / "results" / "breakdown").glob(f"{cell.id}*.json")).read_text())["metrics"]
    from nmtprune.experiments.context import Context

    ctx = Context(st, tmp_path / "ctx")
    masks, updated = ctx.masks("sparsegpt", "class-blind", 0.7), ctx.updated("sparsegpt", "class-blind", 0.7)
    model = ctx.dense()
    softmax = {n for _, g in class_groups(model, ["softmax"]) for n, _ in g}
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name in softmax:
                p.copy_(updated[name])
    masks.restrict(["softmax"], model).apply(model)
    assert got["dev_ppl"] == round(ctx.perplexity(model, cell.params["eval"]["dev_split"]), 4)
    ppl = {
        json.loads(f.read_text())["metrics"]["weight_class"]: json.loads(f.read_text())["metrics"]["dev_ppl"]
        for f in (tmp_path / "results" / "breakdown").glob("class-breakdown_*.json")
    }
    assert len(set(ppl.values())) > 1  # each class pruned alone, not the whole model every time
    assert updated and ctx.updated("magnitude", "class-blind", 0.7) == {}
