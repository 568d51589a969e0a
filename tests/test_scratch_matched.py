"""Sparse from scratch with each mask's own initialisation (``retrain.scratch_matched``).

An at-initialisation score's mask trains from the copy it scored; any other mask, and the dense control,
from a fresh draw that is not the reference's initialisation; the plain scratch cells keep their protocol.
"""

import pytest
import torch
from safetensors.torch import load_file

import nmtprune.experiments.trained as trained_mod
import nmtprune.prune.retrain as retrain_mod
from nmtprune.config import ConfigError
from nmtprune.experiments import load_study, plan
from nmtprune.experiments.context import Context
from nmtprune.prune import get_score, select
from nmtprune.prune.retrain import FRESH_INIT_OFFSET, matched_init, scored_initialisation, sparse_from_scratch
from nmtprune.prune.scores._data import variance_scaling_copy
from nmtprune.report.collect import collect
from nmtprune.report.scratch_matched import matched_scratch_section, with_n
from nmtprune.train.checkpoint import load_model, save_checkpoint
from experiment_helpers import STUDY, make_model, sweep, write_study

MATCHED = (
    "retrain:\n  sparsities: [0.8]\n  scores: [magnitude]\n  seeds: [1]\n  scratch_seeds: [1]\n"
    "  scratch_matched: {{sparsities: [0.8], scores: [snip-init, magnitude, random], seeds: [1, 2]}}\n"
    "  dense_continued: false\n"
)


def _matched_cells(study):
    return {c.id.rsplit("-", 1)[0]: c.params for c in plan(load_study(study)) if "init" in c.params}


def test_the_matched_protocol_is_its_own_cells_beside_the_plain_scratch_cells(tmp_path):
    study = write_study(tmp_path, STUDY + MATCHED, "matched")
    cells = _matched_cells(study)
    assert sorted(cells) == sorted(
        f"scratch_{name}_seed{seed}_{init}-init"
        for seed in (1, 2)
        for name, init in [
            ("snip-init_class-blind_s80", "scored"),
            ("magnitude_class-blind_s80", "fresh"),
            ("random_class-blind_s80", "fresh"),
            ("dense", "fresh"),
        ]
    )
    # an at-init score scores its own draw per seed; magnitude's mask is the trained model's, the same for all
    assert cells["scratch_snip-init_class-blind_s80_seed2_scored-init"]["seed"] == 2
    assert cells["scratch_magnitude_class-blind_s80_seed2_fresh-init"]["seed"] == 0
    assert cells["scratch_dense_seed1_fresh-init"]["score"] is None
    plain = [c.id for c in plan(load_study(study)) if c.kind == "scratch" and "init" not in c.params]
    assert [i.rsplit("-", 1)[0] for i in plain] == ["scratch_magnitude_class-blind_s80_seed1"]
    study.write_text(study.read_text().replace("random], seeds: [1, 2]}", "random], seeds: []}"))
    with pytest.raises(ConfigError, match=r"key 'retrain.scratch_matched.seeds' must name at least one seed"):
        load_study(study)


def test_scored_initialisation_is_the_copy_an_at_init_score_scores(tmp_path):
    model, *_ = load_model(make_model(tmp_path / "m"))
    got, ref = scored_initialisation("snip-init", model, 3), variance_scaling_copy(model, 3)
    assert all(torch.equal(a, b) for a, b in zip(got.state_dict().values(), ref.state_dict().values()))
    with pytest.raises(ValueError, match="'magnitude' does not score a re-initialised copy"):
        scored_initialisation("magnitude", model, 3)


def test_a_mask_starts_from_its_scored_copy_exactly_when_its_spec_scores_at_initialisation():
    assert [matched_init(s) for s in ("snip-init", "grasp-init", "magnitude", "random", "obd")] == [
        "scored",
        "scored",
        "fresh",
        "fresh",
        "fresh",
    ]


def test_sparse_from_scratch_starts_where_it_is_told_and_saves_the_start(tmp_path, monkeypatch):
    dense = make_model(tmp_path / "dense", seed=1)
    model, *_ = load_model(dense)
    masks = select(get_score("magnitude")(model), model, 0.5, "class-blind")
    starts = {}
    monkeypatch.setattr(
        retrain_mod,
        "train",
        lambda c, out, init_model, **k: starts.setdefault(
            out.name, {n: t.detach().clone() for n, t in init_model.state_dict().items()}
        ),
    )
    start = variance_scaling_copy(model, 5)
    sparse_from_scratch(dense, masks, tmp_path / "scored", seed=1, init=start)
    sparse_from_scratch(dense, masks, tmp_path / "fresh", seed=1, init="fresh")
    sparse_from_scratch(dense, masks, tmp_path / "plain", seed=1)
    assert all(torch.equal(starts["scored"][n], t) for n, t in start.state_dict().items())
    saved = load_file(str(tmp_path / "scored" / "init.safetensors"))
    assert all(torch.equal(saved[n], t) for n, t in start.state_dict().items())
    # the plain protocol at the reference's seed rebuilds the reference's draw; "fresh" does not
    torch.manual_seed(1)
    reference_draw = type(model)(model.cfg).state_dict()
    assert torch.equal(starts["plain"]["generator.weight"], reference_draw["generator.weight"])
    assert not torch.equal(starts["fresh"]["generator.weight"], reference_draw["generator.weight"])
    torch.manual_seed(FRESH_INIT_OFFSET + 1)
    assert torch.equal(starts["fresh"]["generator.weight"], type(model)(model.cfg).generator.weight.detach())
    assert not (tmp_path / "plain" / "init.safetensors").exists()
    with pytest.raises(ValueError, match="init must be None, 'fresh' or a model"):
        sparse_from_scratch(dense, masks, tmp_path / "bad", seed=1, init="reference")


def test_matched_cells_hand_the_trainer_their_start_and_report_it(tmp_path, monkeypatch):
    study = write_study(
        tmp_path, STUDY + MATCHED.replace("random], seeds: [1, 2]}}", "random], seeds: [1]}}"), "matched"
    )
    seen = {}

    def fake(model_dir, masks, out, *, seed, overrides=(), resume=False, progress=False, init=None):
        seen[out.name.rsplit("-", 1)[0]] = {"masks": masks, "init": init}
        model, cfg, sv, tv = load_model(model_dir)
        save_checkpoint(out / "best", model, cfg, sv, tv)
        return {"steps": 1}

    monkeypatch.setattr(trained_mod, "_trainer", lambda kind: fake)
    summary = sweep(study, tmp_path, only=["scratch"], match=["init"])
    assert summary["failed"] == 0 and summary["ok"] == 4
    snip = seen["scratch_snip-init_class-blind_s80_seed1_scored-init"]
    ctx = Context(load_study(study), tmp_path / "ctx")
    expect = variance_scaling_copy(ctx.dense(), 1)  # the copy snip-init scored with the mask seed, 1
    assert all(torch.equal(a, b) for a, b in zip(snip["init"].state_dict().values(), expect.state_dict().values()))
    assert snip["masks"].equal(ctx.masks("snip-init", "class-blind", 0.8, 1))
    assert seen["scratch_magnitude_class-blind_s80_seed1_fresh-init"]["init"] == "fresh"
    assert seen["scratch_dense_seed1_fresh-init"] == {"masks": None, "init": "fresh"}
    c = collect(study, tmp_path / "results")
    assert set(c.trained("scratch", None, init="fresh")) == {0.0}
    assert set(c.trained("scratch", "snip-init", init="scored")) == {0.8}
    assert c.trained("scratch", "snip-init") == {}  # the plain protocol's cells only: none ran
    r = c.trained("scratch", "magnitude", init="fresh")[0.8][0]
    assert r["init"]["kind"] == "fresh" and r["init"]["seed"] == FRESH_INIT_OFFSET + 1
    text = matched_scratch_section(c)
    bleu = {k: v[0.8][0]["bleu_tok_lc"] for k, v in [("snip", c.trained("scratch", "snip-init", init="scored"))]}
    assert f"| `snip-init` | 80 % | the copy its score scored | {bleu['snip']:.2f} (n=1) | not run |" in text
    dense = c.trained("scratch", None, init="fresh")[0.0][0]["bleu_tok_lc"]
    assert f"through the same path from a fresh draw (no mask): {dense:.2f} (n=1)." in text
    assert with_n([1.0, 2.0, 3.0]) == "2.00 ± 1.00 (n=3)" and with_n([]) == "not run"
