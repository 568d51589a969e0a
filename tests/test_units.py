"""Hidden-unit pruning: groups and ties, unit masks, selection, shrinking, per-layer sizes, CLI."""

import json
import math

import pytest
import torch

from nmtprune.cli import main
from nmtprune.config import ConfigError, ExperimentConfig, config_from_dict, config_to_dict, with_overrides
from nmtprune.data.vocab import Vocab
from nmtprune.models import Seq2Seq
from nmtprune.models.lstm_stack import LSTMStack
from nmtprune.prune.units import UnitError, UnitMask, dead_units, get_unit_score, select_units, shrink, unit_groups
from nmtprune.train.checkpoint import load_model, save_checkpoint

from experiment_helpers import make_model
from unit_helpers import CONFIGS, Batch, assert_same_outputs, make, masked_copy, random_mask, removing


def test_default_sizes_and_names_unchanged(tiny_cfg):
    assert tiny_cfg.enc_sizes == (8, 8) and tiny_cfg.dec_sizes == (8, 8) and tiny_cfg.attn_size == 8
    model = Seq2Seq(tiny_cfg)
    assert type(model.encoder) is torch.nn.LSTM
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert shapes["encoder.weight_hh_l1"] == (32, 8) and shapes["decoder.weight_ih_l0"] == (32, 16)
    assert shapes["attention.W_c"] == (8, 16) and shapes["generator.weight"] == (13, 8)


def test_lstm_stack_equals_nn_lstm():
    torch.manual_seed(0)
    ref = torch.nn.LSTM(5, 4, 3, batch_first=True)
    stack = LSTMStack(5, (4, 4, 4))
    stack.load_state_dict(ref.state_dict())
    x = torch.randn(3, 7, 5)
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, torch.tensor([4, 7, 2]), batch_first=True, enforce_sorted=False)
    out_r, (h_r, c_r) = ref(packed)
    out_s, (h_s, c_s) = stack(packed)
    torch.testing.assert_close(out_s.data, out_r.data)
    torch.testing.assert_close(torch.stack(h_s), h_r)
    torch.testing.assert_close(torch.stack(c_s), c_r)


def test_per_layer_sizes_build_and_validate():
    m = make(3, 2, "dot", n=6, enc_hidden=(3, 5, 4), dec_hidden=(2, 4), attn_hidden=7)
    assert isinstance(m.encoder, LSTMStack)
    assert tuple(m.encoder.weight_ih_l1.shape) == (20, 3) and tuple(m.decoder.weight_ih_l0.shape) == (8, 5 + 7)
    assert tuple(m.attention.W_c.shape) == (7, 8) and tuple(m.generator.weight.shape) == (13, 7)
    assert m(Batch().src, Batch().src_len, Batch().tgt_in).shape == (3, 5, 13)
    cfg = config_from_dict({"model": {"enc_layers": 3, "dec_layers": 2, "enc_hidden": [3, 5, 4], "dec_hidden": [4, 4]}})
    assert cfg.model.enc_hidden == (3, 5, 4)  # lists from YAML/JSON become tuples; overrides keep them
    assert with_overrides(cfg, ["train.lr=0.5"]).model == cfg.model
    assert config_from_dict(json.loads(json.dumps(config_to_dict(cfg)))) == cfg
    bad = [
        ({"enc_hidden": [4, 4], "dec_hidden": [4, 5]}, "must be equal when the decoder starts"),
        ({"enc_layers": 2, "dec_layers": 1, "attention": "dot", "enc_hidden": [4, 5]}, "dot attention needs"),
        ({"enc_hidden": [4]}, "one size per layer"),
        ({"attn_hidden": 0}, "attn_hidden"),
        ({"enc_hidden": [4, "x"]}, "enc_hidden[1]"),
    ]
    for model_keys, message in bad:
        with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
            config_from_dict({"model": model_keys})


# ---------------------------------------------------------------------- groups and masks


def test_groups_merge_tied_members():
    names = lambda *a: [g.name for g in unit_groups(make(*a).cfg)]  # noqa: E731
    assert names(2, 2, "general") == ["src_layer1+tgt_layer1", "src_layer2+tgt_layer2", "attention"]
    assert names(2, 3, "general") == ["src_layer1", "src_layer2", "tgt_layer1", "tgt_layer2", "tgt_layer3", "attention"]
    assert names(3, 2, "dot") == ["src_layer1", "src_layer2", "src_layer3+tgt_layer2", "tgt_layer1", "attention"]
    assert names(1, 1, "dot") == ["src_layer1+tgt_layer1", "attention"]


def test_unit_mask_zeroes_the_unit_everywhere_and_tied_members_together():
    n, E = 4, 5
    m = make(2, 2, "general", True, n=n, E=E)
    keep = {g.name: torch.ones(g.size, dtype=torch.bool) for g in unit_groups(m.cfg)}
    keep["src_layer2+tgt_layer2"][1] = False
    keep["attention"][2] = False
    masked = masked_copy(m, UnitMask(keep))
    p = dict(masked.named_parameters())
    rows = [1, n + 1, 2 * n + 1, 3 * n + 1]  # gates i, f, g, o of unit 1
    for side in ("encoder", "decoder"):  # tied: both sides lose unit 1 of layer 2
        for name in (f"{side}.weight_ih_l1", f"{side}.weight_hh_l1", f"{side}.bias_ih_l1", f"{side}.bias_hh_l1"):
            assert torch.all(p[name][rows] == 0)
        assert torch.all(p[f"{side}.weight_hh_l1"][:, 1] == 0)  # its recurrent column
    assert torch.all(p["attention.W_a"][1] == 0) and torch.all(p["attention.W_a"][:, 1] == 0)
    assert torch.all(p["attention.W_c"][:, 1] == 0) and torch.all(p["attention.W_c"][:, n + 1] == 0)
    assert torch.all(p["attention.W_c"][2] == 0)  # attentional unit 2: its row, softmax and feed columns
    assert torch.all(p["generator.weight"][:, 2] == 0) and torch.all(p["decoder.weight_ih_l0"][:, E + 2] == 0)
    assert p["generator.bias"].count_nonzero() == 13 and p["encoder.weight_ih_l0"].count_nonzero() == 4 * n * E
    # nothing else: per side 4n (W_ih rows) + 4n (W_hh rows) + 8 (biases) + 4n - 4 (W_hh column); W_a row and
    # column 2n - 1; W_c two columns and one row 4n - 2; softmax column 13; input-feeding column 4n
    zeros = sum(int((t == 0).sum()) for name, t in p.items() if "emb" not in name)  # (PAD embeddings are 0)
    assert zeros == 2 * (12 * n + 4) + (2 * n - 1) + (4 * n - 2) + 13 + 4 * n


@pytest.mark.parametrize("el,dl,att,feed", CONFIGS)
def test_shrunk_equals_masked(el, dl, att, feed):
    model = make(el, dl, att, feed)
    mask = random_mask(model, seed=el * 10 + dl)
    small = shrink(model, mask)
    assert sum(p.numel() for p in small.parameters()) < sum(p.numel() for p in model.parameters())
    assert small.cfg.attn_size == mask.kept()["attention"]
    assert_same_outputs(masked_copy(model, mask), small)
    assert dead_units(masked_copy(model, mask)).equal(mask)


@pytest.mark.parametrize("el,dl,att", [(2, 3, "general"), (3, 2, "dot")])
def test_shrunk_equals_masked_one_group_at_a_time(el, dl, att):
    """Encoder layers, decoder layers, the tied top, attention / input feeding, each pruned alone."""
    model = make(el, dl, att, True)
    for g in unit_groups(model.cfg):
        keep = {h.name: torch.ones(h.size, dtype=torch.bool) for h in unit_groups(model.cfg)}
        keep[g.name][[0, 3]] = False
        mask = UnitMask(keep)
        small = shrink(model, mask)
        assert_same_outputs(masked_copy(model, mask), small)


def test_shrinking_twice_composes_and_round_trips(tmp_path):
    model = make(2, 3, "general", True, n=8)
    a = removing(
        model,
        src_layer1=[0, 1],
        src_layer2=[5],
        tgt_layer1=[2, 3, 4],
        tgt_layer2=[7],
        tgt_layer3=[1, 6],
        attention=[0, 4, 5],
    )
    once = shrink(model, a)
    b = removing(once, src_layer1=[5], src_layer2=[0], tgt_layer2=[0, 6], attention=[4])
    twice = shrink(once, b)
    assert twice.cfg.enc_sizes == (5, 6) and twice.cfg.dec_sizes == (5, 5, 6) and twice.cfg.attn_size == 4
    direct = shrink(model, a.compose(b))
    assert twice.cfg == direct.cfg
    for (k, x), (_, y) in zip(twice.state_dict().items(), direct.state_dict().items()):
        assert torch.equal(x, y), k
    assert_same_outputs(masked_copy(model, a.compose(b)), twice)
    # saved and loaded like any model; per-layer sizes survive config.json
    sv, tv = Vocab.build([list("abcdefg")], 100), Vocab.build([list("abcdefghi")], 100)
    save_checkpoint(tmp_path / "ck", twice, ExperimentConfig(model=twice.cfg), sv, tv)
    assert json.loads((tmp_path / "ck" / "config.json").read_text())["model"]["dec_hidden"] == list(twice.cfg.dec_sizes)
    back, back_cfg, *_ = load_model(tmp_path / "ck")
    assert back_cfg.model == twice.cfg and isinstance(back.encoder, LSTMStack)
    assert_same_outputs(twice, back)


def test_uniform_shrink_is_an_ordinary_config():
    model = make(2, 2, "general", True, n=6)
    small = shrink(model, select_units(get_unit_score("l1")(model), model, 0.5))
    assert (small.cfg.hidden, small.cfg.enc_hidden, small.cfg.attn_hidden) == (3, None, None)
    assert type(small.encoder) is torch.nn.LSTM


def test_dead_units_needs_every_tied_member_dead():
    model = make(2, 2, "general", True)
    keep = {g.name: torch.ones(g.size, dtype=torch.bool) for g in unit_groups(model.cfg)}
    keep["src_layer1+tgt_layer1"][2] = False
    masked = masked_copy(model, UnitMask(keep))
    assert dead_units(masked).equal(UnitMask(keep))
    with torch.no_grad():
        masked.encoder.bias_hh_l0[2] = 0.1  # encoder unit alive again: the decoder unit starts from its state
    assert dead_units(masked).equal(UnitMask.full(model))


def test_unit_mask_json_and_errors(tmp_path):
    model = make(2, 2, "general", True)
    mask = random_mask(model)
    mask.save(tmp_path / "u.json", model)
    assert UnitMask.load(tmp_path / "u.json").equal(mask)
    obj = json.loads((tmp_path / "u.json").read_text())
    assert obj["groups"]["src_layer1+tgt_layer1"]["members"] == ["src_layer1", "tgt_layer1"]
    obj["groups"]["attention"]["removed"] = list(range(6))
    (tmp_path / "all.json").write_text(json.dumps(obj))
    with pytest.raises(UnitError, match="removes every unit of attention"):
        shrink(model, UnitMask.load(tmp_path / "all.json"))
    with pytest.raises(UnitError, match="groups"):
        shrink(make(2, 3), mask)


# ---------------------------------------------------------------------- selection


def test_select_units_counts_ties_and_errors():
    model = make(2, 3, "general", True, n=6)
    flat = {g.name: torch.zeros(g.size) for g in unit_groups(model.cfg)}
    m = select_units(flat, model, 0.5)  # all tied: the lowest indices go first
    assert all(r == [0, 1, 2] for r in m.removed().values())
    scores = {g.name: torch.tensor([5.0, 1, 4, 1, 3, 9]) * (i + 1) for i, g in enumerate(unit_groups(model.cfg))}
    m = select_units(scores, model, {"tgt_layer2": 0.5, "attention": 1 / 3})
    assert m.removed()["tgt_layer2"] == [1, 3, 4] and m.removed()["attention"] == [1, 3]
    assert m.removed()["src_layer1"] == []
    g = select_units(scores, model, 0.25, "global")  # 9 of 36: the scores 1 1 2 2 3 3 3 4 4
    assert g.info["n_removed"] == 9 and g.removed()["src_layer1"] == [1, 2, 3, 4]  # 1 1 3 4
    assert g.removed()["src_layer2"] == [1, 3] and g.removed()["tgt_layer1"] == [1, 3]  # 2 2, 3 3
    assert g.removed()["tgt_layer2"] == [1]  # 4 4 tie with src_layer1's 4: the earlier group goes first
    assert select_units(scores, model, 0.5, groups=["tgt_layer1"]).kept() == {**{n: 6 for n in scores}, "tgt_layer1": 3}
    prev = select_units(scores, model, 1 / 6)  # unit 1 everywhere
    assert select_units({k: -v for k, v in scores.items()}, model, 1 / 3, prev=prev).removed()["attention"] == [1, 5]
    bad = [
        ((scores, model, 0.95), "leaves none"),
        ((scores, model, {"src_layer9": 0.5}), "unknown layer 'src_layer9'"),
        ((scores, model, 1.0), r"\[0, 1\)"),
        (({"attention": scores["attention"]}, model, 0.5), "scores lack"),
        (({**scores, "attention": torch.full((6,), math.nan)}, model, 0.5), "NaN"),
        ((scores, model, {"attention": 0.5}, "global"), "per-layer"),
        (({**scores, "attention": -100 * torch.ones(6)}, model, 0.2, "global"), "every unit of attention"),
    ]
    for args, message in bad:
        with pytest.raises(UnitError, match=message):
            select_units(*args)


# ---------------------------------------------------------------------- scores


def test_cli_prune_units_shrink_retrain(tmp_path, capsys):
    make_model(tmp_path / "dense")
    assert (
        main(
            [
                "prune-units",
                str(tmp_path / "dense"),
                "--score",
                "taylor-unit",
                "--fraction",
                "0.5",
                "--batches",
                "2",
                "--out",
                str(tmp_path / "p"),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "prune-units",
                str(tmp_path / "dense"),
                "--score",
                "l1",
                "--ratios",
                "tgt_layer2=0.5",
                "attention=0.25",
                "--out",
                str(tmp_path / "r"),
            ]
        )
        == 0
    )
    pruned, *_ = load_model(tmp_path / "r")
    mask = UnitMask.load(tmp_path / "r" / "units.json")
    assert mask.kept() == {"src_layer1+tgt_layer1": 8, "src_layer2+tgt_layer2": 4, "attention": 6}
    info = json.loads((tmp_path / "r" / "prune.json").read_text())
    assert info["params_after_shrink"] < info["params_dense"]
    assert main(["shrink", str(tmp_path / "r"), "--out", str(tmp_path / "s")]) == 0
    small, small_cfg, *_ = load_model(tmp_path / "s")
    assert (
        small_cfg.model.dec_sizes == (8, 4)
        and sum(p.numel() for p in small.parameters()) == info["params_after_shrink"]
    )
    assert_same_outputs(pruned, small, Batch())
    assert main(["info", str(tmp_path / "s")]) == 0
    # retraining keeps the removed units dead, so the retrained model shrinks without a mask file
    assert main(["retrain", str(tmp_path / "r"), "train.epochs=1", "--out", str(tmp_path / "rt"), "--no-progress"]) == 0
    assert main(["shrink", str(tmp_path / "rt" / "best"), "--out", str(tmp_path / "s2")]) == 0
    assert load_model(tmp_path / "s2")[1].model == small_cfg.model
    capsys.readouterr()
    for args, message in (
        (["--groups", "src_layer9", "--fraction", "0.5"], "unknown layer 'src_layer9'"),
        (["--ratios", "attention=0.99"], "leaves none"),
        ([], "either --fraction or --ratios"),
    ):
        assert main(["prune-units", str(tmp_path / "dense"), *args, "--out", str(tmp_path / "bad")]) == 1
        assert message in capsys.readouterr().err
