"""Hidden-unit studies: unit-eval / unit-sensitivity / unit-retrain cells on a tiny model, the units
report, bad unit sections, the random-unit baseline and global score normalisation."""

import json
import math

import pytest
import torch

from nmtprune.config import ConfigError
from nmtprune.experiments import ResultStore, load_study, plan, run_sweep
from nmtprune.experiments.context import Context
from nmtprune.models import Seq2Seq
from nmtprune.prune.units import UnitError, get_unit_score, select_units, shrink, unit_groups
from nmtprune.report.render import write_report

from experiment_helpers import write_study

UNITS = """\
model: {model}
split: test
dev_split: dev
beam: 1
max_sentences: 6
report: units
units_eval: {{fractions: [0.25, 0.5], scores: [l1, random-unit], scopes: [per-layer, global], seeds: [1, 2],
             ratios: [tgt_layer2=0.5, attention=0.25]}}
unit_sensitivity: {{fractions: [0.5], scores: [l1]}}
unit_retrain: {{fractions: [0.5], scores: [l1], seeds: [1], overrides: [train.epochs=1]}}
unit_greg: {{fractions: [0.5], seeds: [1], delta: 0.5, every: 1, stabilize: 2, pick_delta: 0.005, pick_ceiling: 0.01,
            overrides: [train.epochs=1]}}
"""


@pytest.fixture
def ustudy(tmp_path):
    return write_study(tmp_path, UNITS, "units_toy")


def _results(tmp_path, study, kind):
    store = ResultStore(tmp_path / "results" / "units_toy")
    return [(c, store.read(c)) for c in plan(load_study(study)) if c.kind == kind]


def test_unit_cells_shrink_and_evaluate(ustudy, tmp_path):
    s = run_sweep(ustudy, results_dir=tmp_path / "results", work_dir=tmp_path / "work", progress=False)
    n_groups = 3  # the toy model's unit groups: src_layer1+tgt_layer1, src_layer2+tgt_layer2, attention
    # unit-eval: dense + l1 (2 scopes x 2 fractions + ratios) + random-unit (x 2 seeds, + ratios);
    # sensitivity: dense + 1 per group
    # unit-retrain: 1; unit-greg: greg-1 and greg-2
    assert s["failed"] == 0 and s["ok"] == s["cells"] == (1 + 5 + 9) + (1 + n_groups) + 1 + 2
    evals = _results(tmp_path, ustudy, "unit-eval")
    dense = next(r["metrics"] for c, r in evals if c.params["fraction"] == 0)
    for c, r in evals:
        m = r["metrics"]
        assert r["status"] == "ok" and "bleu_tok_lc" in m and m["sentences"] == 6
        if c.params["fraction"] == 0:
            continue
        if c.params["fraction"] is None:  # per-layer ratios: a member name picks its tied group
            assert c.params["ratios"] == {"src_layer2+tgt_layer2": 0.5, "attention": 0.25}
            assert {g: u["size"] - u["kept"] for g, u in m["units"].items()} == {
                "src_layer1+tgt_layer1": 0,
                "src_layer2+tgt_layer2": 4,
                "attention": 2,
            }
            assert m["units_removed"] == 0.25
            continue
        assert m["params"] < dense["params"] and m["params_ratio"] < 1
        removed = sum(u["size"] - u["kept"] for u in m["units"].values())
        assert removed == round(c.params["fraction"] * sum(u["size"] for u in m["units"].values()))
        if c.params["scope"] == "per-layer":  # every group loses its own share
            assert all(u["size"] - u["kept"] == round(c.params["fraction"] * u["size"]) for u in m["units"].values())
        else:
            assert m["selection"]["normalize"] == "l2" and c.params["normalize"] == "l2"
    # random-unit runs once per seed, and different seeds remove different units
    rnd = [
        r["metrics"]["units"]
        for c, r in evals
        if c.params["score"] == "random-unit" and c.params["scope"] == "per-layer" and c.params["fraction"] == 0.5
    ]
    assert len(rnd) == 2
    for c, r in _results(tmp_path, ustudy, "unit-sensitivity"):
        if c.params["fraction"] > 0:  # only the named group loses units
            for g, u in r["metrics"]["units"].items():
                assert (u["kept"] < u["size"]) == (g == c.params["group"])
    ((c, r),) = _results(tmp_path, ustudy, "unit-retrain")
    m = r["metrics"]
    assert m["mask_held"] is True and m["params_ratio"] < 1 and m["curve"]["train"]
    # the pruned-only start point is the shrunk (pruned, not retrained) model's dev loss
    ctx = Context(load_study(ustudy), tmp_path / "w2")
    small = shrink(ctx.dense(), select_units(get_unit_score("l1")(ctx.dense()), ctx.dense(), 0.5))
    assert m["start"]["pruned_dev_loss"] == round(math.log(ctx.perplexity(small.eval(), "dev")), 5)
    greg = {c.params["score"]: r["metrics"] for c, r in _results(tmp_path, ustudy, "unit-greg")}
    assert set(greg) == {"greg-1", "greg-2"}
    for m in greg.values():  # pruned after the penalty phase, then retrained under the same unit masks
        assert m["mask_held"] is True and "bleu_tok_lc" in m["pruned_only"] and m["units_removed"] == 0.5
    # GReg-1 prunes the units l1 picks on the dense model; the penalty drove their weights to ~0 first
    pruned_dir = (
        tmp_path
        / "work"
        / "units_toy"
        / next(c.id for c, _ in _results(tmp_path, ustudy, "unit-greg") if c.params["score"] == "greg-1")
        / "pruned"
    )
    info = json.loads((pruned_dir / "prune.json").read_text())
    assert info["greg"]["steps"] == 2 + 2 and info["score"] == "greg-1"
    # the report renders every section from these results
    text = write_report(ustudy, results_dir=tmp_path / "results", reports_dir=tmp_path / "reports").read_text()
    for needle in (
        "BLEU vs fraction of hidden units removed",
        "Per-layer sensitivity",
        "Pruned vs retrained",
        "| score | 25 % units | 50 % units |",
        "| random-unit |",
        "**Target**",
        "| greg-2 | 50 % |",
    ):
        assert needle in text
    assert (tmp_path / "reports" / "units_toy" / "fig_units_bleu.png").is_file()
    assert (tmp_path / "reports" / "units_toy" / "fig_units_sensitivity.png").is_file()
    assert "Not run yet" not in text.split("## Small-dense")[0]


@pytest.mark.parametrize(
    "edit, key",
    [
        ("scores: [l1, random-unit]", "units_eval.scores[0]"),
        ("fractions: [0.25, 0.5]", "units_eval.fractions[1]"),
        ("scopes: [per-layer, global]", "units_eval.scopes[1]"),
    ],
)
def test_bad_unit_sections_name_the_key(ustudy, edit, key):
    bad = {
        "scores: [l1, random-unit]": "scores: [l1-norm, random-unit]",
        "fractions: [0.25, 0.5]": "fractions: [0.25, 1.0]",
        "scopes: [per-layer, global]": "scopes: [per-layer, everywhere]",
    }[edit]
    ustudy.write_text(ustudy.read_text().replace(edit, bad, 1))
    with pytest.raises(ConfigError, match=key.replace("[", r"\[").replace("]", r"\]")):
        load_study(ustudy)


def test_bad_ratios_name_the_key(ustudy):
    text = ustudy.read_text()
    ustudy.write_text(text.replace("attention=0.25", "attention=1.5", 1))
    with pytest.raises(ConfigError, match=r"units_eval.ratios\[1\]"):
        load_study(ustudy)
    ustudy.write_text(text.replace("attention=0.25", "decoder=0.25", 1))
    with pytest.raises(ConfigError, match=r"units_eval.ratios\[1\].*names no unit group"):
        plan(load_study(ustudy))


def test_bad_normalize_and_compare_with(ustudy):
    text = ustudy.read_text()
    ustudy.write_text(text.replace("seeds: [1, 2],", "seeds: [1, 2], normalize: max,", 1))
    with pytest.raises(ConfigError, match="units_eval.normalize"):
        load_study(ustudy)
    ustudy.write_text(text + "compare_with: [no/such/study.yaml]\n")
    with pytest.raises(ConfigError, match=r"compare_with\[0\]"):
        load_study(ustudy)


def test_random_unit_scores_are_seeded(tiny_cfg):
    model = Seq2Seq(tiny_cfg)
    a, b, c = (get_unit_score("random-unit")(model, seed=s) for s in (1, 1, 2))
    assert set(a) == {g.name for g in unit_groups(tiny_cfg)}
    assert all(torch.equal(a[g], b[g]) for g in a) and not all(torch.equal(a[g], c[g]) for g in a)


def test_global_normalisation_lets_groups_compete_on_relative_scores(tiny_cfg):
    model = Seq2Seq(tiny_cfg)
    groups = unit_groups(tiny_cfg)
    base = torch.arange(1, 9, dtype=torch.float32)
    # the first group's scores are 1000x larger: raw global ranking empties the other groups
    scores = {g.name: base * (1000 if i == 0 else 1) for i, g in enumerate(groups)}
    with pytest.raises(UnitError, match="removes every unit"):
        select_units(scores, model, 0.7, "global")
    for norm in ("l2", "mean"):
        m = select_units(scores, model, 0.5, "global", normalize=norm)
        assert all(k == 4 for k in m.kept().values()) and m.info["normalize"] == norm
    # per-layer selection ignores the rescaling, and unknown names are refused
    assert select_units(scores, model, 0.5).kept() == m.kept()
    with pytest.raises(UnitError, match="normalisation"):
        select_units(scores, model, 0.5, "global", normalize="max")


def test_ratio_scores_pick_which_scores_also_run_with_ratios(ustudy, tmp_path):
    text = ustudy.read_text()
    old = "unit_retrain: {fractions: [0.5], scores: [l1], seeds: [1],"
    assert old in text
    ustudy.write_text(
        text.replace(
            old,
            "unit_retrain: {fractions: [0.5], scores: [l1, n2ps], seeds: [1, 2], "
            "ratios: [attention=0.25], ratio_scores: [l1],",
        )
    )
    ids = sorted(c.id.rsplit("-", 1)[0] for c in plan(load_study(ustudy)) if c.kind == "unit-retrain")
    assert ids == sorted(
        f"unit-retrain_{s}_seed{k}" for s in ("l1_per-layer_u50", "n2ps_per-layer_u50", "l1_ratios") for k in (1, 2)
    )
    # the report's retraining table lists a ratios row only where the study plans one (none run yet here)
    report = write_report(ustudy, results_dir=tmp_path / "results", reports_dir=tmp_path / "reports").read_text()
    section = report.split("## Pruned vs retrained")[1]
    assert "| l1 | ratios: attention=0.25 |" in section and "| n2ps | 50 % |" in section
    assert "| n2ps | ratios:" not in section
    ustudy.write_text(
        text.replace(
            old,
            "unit_retrain: {fractions: [0.5], scores: [l1], seeds: [1], "
            "ratios: [attention=0.25], ratio_scores: [n2ps],",
        )
    )
    with pytest.raises(ConfigError, match=r"unit_retrain.ratio_scores\[0\].*not in unit_retrain.scores"):
        load_study(ustudy)


def test_units_target_prefers_methods_with_three_seeds():
    from nmtprune.report.units_target import TARGET_FRACTION, _target

    dense = {"bleu_tok_lc": 30.0}
    got = {
        ("l1", TARGET_FRACTION): [{"bleu_tok_lc": b} for b in (29.0, 29.2, 29.4)],  # n=3, -0.8
        ("greg-1", TARGET_FRACTION): [{"bleu_tok_lc": 30.5}],
    }  # n=1, +0.5
    text = _target(None, got, dense)
    assert "with ≥ 3 seeds `l1` -0.80 (n=3)" in text and "the target asks" not in text
    del got[("l1", TARGET_FRACTION)]  # no method has 3 seeds yet: the best one, flagged
    text = _target(None, got, dense)
    assert "best retrained `greg-1` +0.50 (n=1)" in text and "BLEU from 1 seed; the target asks for ≥ 3" in text


def test_equal_size_table_brackets_the_unit_models_size_with_weight_pruned_points():
    from nmtprune.report.units_versus import _equal_size_table

    class Fake:  # the two kinds of result the table reads, as Collected.ok gives them
        def ok(self, kind):
            if kind == "unit-eval":
                return [
                    ({"fraction": 0, "score": None}, {"bleu_tok_lc": 30.0, "params": 1000}),
                    ({"fraction": 0.5, "score": "l1", "scope": "per-layer"}, {"bleu_tok_lc": 9.0}),
                    ({"fraction": 0.5, "score": "n2ps", "scope": "per-layer"}, {"bleu_tok_lc": 12.0}),
                ]
            if kind == "unit-retrain":
                return [({"fraction": 0.5, "score": "l1"}, {"bleu_tok_lc": b, "params": 600}) for b in (29.0, 29.4)] + [
                    ({"fraction": 0.5, "score": "n2ps"}, {"bleu_tok_lc": 29.8, "params": 600}),
                    ({"fraction": None, "score": "l1"}, {"bleu_tok_lc": 1.0, "params": 590}),
                ]  # ratios: not 50 %
            return []

    sparse = [
        (700, 29.9, "magnitude (s)"),
        (500, 28.0, "magnitude (s)"),
        (300, 5.0, "magnitude (s)"),
        (500, 29.5, "magnitude retrained (s)"),
        (500, 29.7, "magnitude retrained (s)"),
    ]
    text = "\n".join(_equal_size_table(Fake(), sparse))
    assert "just below and above 0.00M" in text and "(2 methods)" in text
    assert "| 9.00 to 12.00 | 29.20 (`l1`) to 29.80 (`n2ps`), method means |" in text
    assert "| magnitude class-blind, 50 % of all parameters zero | 0.00M | 28.00 | 29.60 ± 0.14 (n=2) |" in text
    assert "| magnitude class-blind, 30 % of all parameters zero | 0.00M | 29.90 | – |" in text
    assert "70 % of all" not in text  # only the two neighbours of the unit models' size


def test_gate_ratios_by_hand_and_the_gates_table_from_the_script(ustudy, tmp_path):
    import importlib.util
    import subprocess
    import sys

    from conftest import ROOT

    spec = importlib.util.spec_from_file_location("unit_gates", ROOT / "scripts" / "unit_gates.py")
    ug = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ug)
    # n = 2 units; gate blocks i, f, g, o of one row each per unit; unit 1 removed
    w_ih = torch.tensor([[3.0], [1.0], [1.0], [1.0], [2.0], [2.0], [0.0], [5.0]])  # (4n, in=1)
    w_hh = torch.tensor([[4.0, 0], [0, 0], [0, 0], [0, 2.0], [0, 0], [0, 0], [1.0, 0], [0, 0]])  # (4n, n=2)
    r = ug.gate_ratios(w_ih, w_hh, torch.tensor([True, False]))
    # kept unit 0 / removed unit 1 row norms: i 5 / 1, f 1 / sqrt(5), g 2 / 2, o 1 / 5
    assert r == pytest.approx({"i": 1 / 5, "f": math.sqrt(5), "g": 1.0, "o": 5.0})

    out = tmp_path / "results" / "ablations" / "units_toy_gates.json"
    p = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "unit_gates.py"), str(ustudy), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert p.returncode == 0, p.stderr
    d = json.loads(out.read_text())
    assert set(d["scores"]) == {"l1", "random-unit"} and d["command"].startswith("python scripts/unit_gates.py")
    for row in d["scores"].values():
        assert row["ratios"] and all(set(v) == {"i", "f", "g", "o"} for v in row["ratios"].values())
    from nmtprune.report.collect import collect
    from nmtprune.report.units_eval import _gates_table

    text = _gates_table(collect(ustudy, tmp_path / "results"))
    assert text.startswith("Which gates:") and "| l1 |" in text and "| random-unit |" in text
    d["model_hash"] = "another model"
    out.write_text(json.dumps(d))
    assert _gates_table(collect(ustudy, tmp_path / "results")) == ""  # not about this model: not shown
