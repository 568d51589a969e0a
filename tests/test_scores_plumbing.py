"""The data-driven scores' plumbing: deterministic scoring batches, the sweep context, the prune CLI, and
scheduled pruning that re-scores the current model at every event."""

import json

import pytest
import torch

from conftest import TOY_CONFIG
from nmtprune.config import load_config
from nmtprune.data.batching import load_split
from nmtprune.models import Seq2Seq
from nmtprune.prune import n_to_prune, prunable
from nmtprune.prune.scores import scoring_batches
from nmtprune.train.checkpoint import load_model, save_checkpoint
from nmtprune.train.loop import build_vocabs


def toy_checkpoint(path):
    cfg = load_config(TOY_CONFIG, ["model.hidden=8", "model.emb_dim=8"])
    sv, tv = build_vocabs(cfg)
    mc = cfg.model.__class__(**{**cfg.model.__dict__, "src_vocab_size": len(sv), "tgt_vocab_size": len(tv)})
    cfg = cfg.__class__(data=cfg.data, model=mc, train=cfg.train)
    torch.manual_seed(0)
    save_checkpoint(path, Seq2Seq(cfg.model), cfg, sv, tv)
    return path


def test_scoring_batches_are_deterministic_prefixes(tmp_path):
    _, cfg, sv, tv = load_model(toy_checkpoint(tmp_path / "m"))
    d = cfg.data
    data = load_split(d.corpus, d.train_split, d.src_lang, d.tgt_lang, d.lowercase, sv, tv, d.max_len)
    a, b, c = scoring_batches(data, 4, 8, seed=1), scoring_batches(data, 2, 8, seed=1), scoring_batches(data, 4, 8, 2)
    assert len(a) == 4 and all(len(x.index) <= 8 for x in a)
    assert [list(x.index) for x in a[:2]] == [list(x.index) for x in b]
    assert [list(x.index) for x in a] != [list(x.index) for x in c]


def test_sweep_context_builds_batches_only_for_data_driven_scores(tmp_path):
    from nmtprune.experiments.context import Context
    from nmtprune.experiments.study import load_study

    model = toy_checkpoint(tmp_path / "model")
    path = tmp_path / "s.yaml"
    path.write_text(
        f"model: {model}\nsplit: test\ndev_split: dev\nbeam: 1\nmax_sentences: 4\n"
        "prune_eval: {sparsities: [0.5], methods: [{score: obd, schemes: [class-blind]}]}\n"
    )
    ctx = Context(load_study(path), tmp_path / "work")
    ctx.masks("magnitude", "class-blind", 0.5)
    assert ctx._train is None  # magnitude needs no data
    ms = ctx.masks("obd", "class-blind", 0.5)
    assert ms.info["scoring"]["n_batches"] == 1 and ms.info["scoring"]["batch_size"] == 64  # 50 toy pairs
    assert ms.info["scoring"]["options"]["estimator"] == "fisher"
    assert set(ms.info["scoring"]["absent_rows"]) == {"src_emb.weight", "tgt_emb.weight"}
    again = ctx.masks("obd", "class-uniform", 0.5)  # the cached score serves another scheme
    assert ctx._scores[0] == ("obd", 0) and again.info["n_pruned"] == ms.info["n_pruned"]


def test_prune_cli_passes_scoring_batches_and_records_them(tmp_path):
    from nmtprune.cli import main

    model = toy_checkpoint(tmp_path / "model")
    assert (
        main(
            [
                "prune",
                str(model),
                "--score",
                "taylor",
                "--sparsity",
                "0.5",
                "--score-batches",
                "2",
                "--score-batch-size",
                "8",
                "--out",
                str(tmp_path / "p"),
            ]
        )
        == 0
    )
    rec = json.loads((tmp_path / "p" / "prune.json").read_text())
    assert rec["scoring"]["n_batches"] == 2 and rec["scoring"]["sentences"] == 16
    assert rec["scoring"]["options"] == {"order": 1} and rec["stats"]["overall"]["sparsity"] == pytest.approx(0.5, 1e-3)


def test_scheduled_pruning_rescores_the_current_model_at_every_event(tmp_path):
    """Iterative OBD: each event scores the weights as retraining left them (the sweep's rescorer)."""
    from nmtprune.experiments.context import Context
    from nmtprune.experiments.study import load_study
    from nmtprune.prune.gradual import ScheduledPruner, full_masks
    from nmtprune.prune.schedule import iterative

    model = toy_checkpoint(tmp_path / "model")
    path = tmp_path / "s.yaml"
    path.write_text(f"model: {model}\nsplit: test\ndev_split: dev\nbeam: 1\n")
    ctx = Context(load_study(path), tmp_path / "work")
    rescore, seen = ctx.rescorer("obd", 0), []

    def spy(m, step):
        seen.append(step)
        return rescore(m, step)

    m = ctx.dense()
    pruner = ScheduledPruner(full_masks(m), iterative(0.6, 3, 10), spy, "class-blind")
    zeros = []
    for step in range(30):
        pruner.update(m, None, step)
        zeros.append(torch.cat([p.detach().reshape(-1) == 0 for _, _, p in prunable(m)]))
        with torch.no_grad():  # stand-in for training between events
            for p in m.parameters():
                p.add_(0.01 * torch.randn_like(p))
        pruner.masks.apply(m)
    assert seen == [0, 10, 20] and pruner.current == pytest.approx(0.6)
    assert bool((zeros[5] <= zeros[15]).all()) and bool((zeros[15] <= zeros[25]).all())  # pruned stays pruned
    n = sum(p.numel() for _, _, p in prunable(m))
    assert int(zeros[-1].sum()) == n_to_prune(0.6, n)
