"""The older unit criteria (N2PS, Hagiwara, Xing & Hu) by hand on a tiny model, and GReg's schedule."""

import json
import math

import numpy as np
import pytest
import torch

from experiment_helpers import make_model
from nmtprune.cli import main
from nmtprune.config import ModelConfig
from nmtprune.data.vocab import BOS, EOS, PAD
from nmtprune.models import Seq2Seq
from nmtprune.prune.units import UnitError, UnitMask, get_unit_score, unit_activations
from nmtprune.prune.units.greg import GRegConfig, GrowingRegularizer
from nmtprune.prune.units.scores.l1 import l1_unit
from nmtprune.prune.units.scores.xinghu import mutual_information
from nmtprune.train.checkpoint import load_model

N, E, V = 3, 2, 6  # hidden units, embedding size, vocabulary (4 specials + 2 words)
TIED, ATT = "src_layer1+tgt_layer1", "attention"


def tiny(el=1, dl=1, seed=0):
    torch.manual_seed(seed)
    cfg = ModelConfig(
        emb_dim=E,
        hidden=N,
        enc_layers=el,
        dec_layers=dl,
        attention="general",
        input_feed=True,
        dropout=0.0,
        init_range=0.8,
        src_vocab_size=V,
        tgt_vocab_size=V,
    )
    return Seq2Seq(cfg).double().eval()


class Batch:
    def __init__(self, seed=0, B=3, S=5, T=4):
        g = torch.Generator().manual_seed(seed)
        self.src = torch.randint(4, V, (B, S), generator=g)
        self.src_len = torch.tensor([S, 3, 2][:B])
        for b in range(B):
            self.src[b, self.src_len[b] :] = PAD
        tgt = torch.randint(3, V, (B, T + 1), generator=g)
        tgt[:, 0] = BOS
        tgt[1, 3:] = PAD
        tgt[1, 2] = EOS
        self.tgt_in, self.tgt_out = tgt[:, :-1], tgt[:, 1:]


BATCHES = [Batch(0), Batch(1)]


def acts(model):
    """{member: (N_tokens, n) float64} over both batches; y (N_tgt,): reference tokens, step-major."""
    per = [unit_activations(model, b) for b in BATCHES]
    y = torch.cat([b.tgt_out.t()[(b.tgt_out != PAD).t()] for b in BATCHES])
    return {m: torch.cat([p[m] for p in per]).double() for m in per[0]}, y


def out_mats(model):
    """By hand: per member, the (receivers, n) matrices whose column j is what unit j feeds."""
    p = {k: v.detach() for k, v in model.named_parameters()}
    return {
        "src_layer1": [p["encoder.weight_hh_l0"], p["attention.W_a"], p["attention.W_c"][:, :N]],
        "tgt_layer1": [p["decoder.weight_hh_l0"], p["attention.W_a"].T, p["attention.W_c"][:, N:]],
        "attention": [p["generator.weight"], p["decoder.weight_ih_l0"][:, E:]],
    }


def by_group(per_member):
    return {TIED: np.add(per_member["src_layer1"], per_member["tgt_layer1"]), ATT: np.asarray(per_member["attention"])}


def close(got, want, rel=1e-5):
    assert set(got) == set(want)
    for k in want:
        assert got[k].shape == (N,)
        np.testing.assert_allclose(got[k].double().numpy(), np.asarray(want[k], dtype=float), rtol=rel, atol=1e-9)


# ---------------------------------------------------------------------- N2PS
def test_n2ps_by_hand():
    model = tiny()
    a, _ = acts(model)
    mats = out_mats(model)
    want, want_raw_sum = {}, {}
    for m, ws in mats.items():
        h = a[m].numpy()
        w = [sum(abs(float(W[k, j])) for W in ws for k in range(W.shape[0])) for j in range(N)]
        want[m] = [np.mean(np.abs(h[:, j])) * w[j] for j in range(N)]
        want_raw_sum[m] = [np.sum(h[:, j]) * w[j] for j in range(N)]
    close(get_unit_score("n2ps")(model, batches=BATCHES), by_group(want))
    close(get_unit_score("n2ps")(model, batches=BATCHES, activation="raw", reduce="sum"), by_group(want_raw_sum))
    with torch.no_grad():  # literal: attention unit 1's only outgoing weight is 2 -> 2 * mean |h~_1|
        model.generator.weight.zero_()
        model.decoder.weight_ih_l0[:, E:].zero_()
        model.generator.weight[4, 1] = -2.0
    got = get_unit_score("n2ps")(model, batches=BATCHES)[ATT]
    h_att = acts(model)[0][ATT]  # recomputed: the input feed changed
    assert got[0] == 0 and got[2] == 0 and got[1].item() == pytest.approx(2 * float(h_att[:, 1].abs().mean()))


# ---------------------------------------------------------------------- Hagiwara
def test_hagiwara_goodness_energy_power_by_hand():
    model = tiny(seed=1)
    a, _ = acts(model)
    mats = out_mats(model)
    good, energy, power, total = {}, {}, {}, {}
    for m, ws in mats.items():
        h = a[m].numpy()
        wsn = [W.numpy() for W in ws]
        good[m] = [np.mean(h[:, j] ** 2) * sum((W[:, j] ** 2).sum() for W in wsn) for j in range(N)]
        power[m] = [sum((W[:, j] ** 2).sum() for W in wsn) for j in range(N)]
        e = np.zeros(N)
        for t in range(len(h)):
            for W in wsn:
                a_t = W @ h[t]  # receivers' input from this member
                for j in range(N):
                    e[j] += sum(W[k, j] * h[t, j] * a_t[k] for k in range(W.shape[0]))
        energy[m] = e / len(h)
        total[m] = np.mean([sum(((W @ h[t]) ** 2).sum() for W in wsn) for t in range(len(h))])
    close(get_unit_score("hagiwara-goodness")(model, batches=BATCHES), by_group(good))
    signed = get_unit_score("hagiwara-energy")(model, batches=BATCHES, sign="signed")
    close(signed, by_group(energy))
    assert float(signed[ATT].sum()) == pytest.approx(total["attention"])  # Σ_j E_j = mean_t Σ_s ‖W_s h_t‖²
    close(
        get_unit_score("hagiwara-energy")(model, batches=BATCHES), {k: np.abs(v) for k, v in by_group(energy).items()}
    )
    close(get_unit_score("hagiwara-power")(model), by_group(power))  # data-free
    p = {k: v.detach().numpy() for k, v in model.named_parameters()}
    rows = [[g * N + j for g in range(4)] for j in range(N)]
    incoming = {
        TIED: [
            sum((p[f"{s}.weight_{w}_l0"][rows[j]] ** 2).sum() for s in ("encoder", "decoder") for w in ("ih", "hh"))
            for j in range(N)
        ],
        ATT: [(p["attention.W_c"][j] ** 2).sum() for j in range(N)],
    }
    close(
        get_unit_score("hagiwara-power")(model, incoming=True),
        {k: np.add(by_group(power)[k], incoming[k]) for k in incoming},
    )
    good_sum = get_unit_score("hagiwara-goodness")(model, batches=BATCHES, reduce="sum")
    assert float(good_sum[ATT][0]) == pytest.approx(by_group(good)[ATT][0] * len(a[ATT]), rel=1e-6)


# ---------------------------------------------------------------------- Xing & Hu
def _mi_by_hand(b, c):
    n = len(b)
    cb, cc, cj = {}, {}, {}
    for x, y in zip(b, c):
        cb[x], cc[y], cj[(x, y)] = cb.get(x, 0) + 1, cc.get(y, 0) + 1, cj.get((x, y), 0) + 1
    mi = sum(k / n * math.log(k * n / (cb[x] * cc[y])) for (x, y), k in cj.items())
    return mi + (len(cb) - 1 + len(cc) - 1 - (len(cj) - 1)) / (2 * n)


def test_mutual_information_literals():
    b, c = torch.tensor([0, 0, 1, 1]), torch.tensor([0, 0, 1, 1])
    assert mutual_information(b, c, "none") == pytest.approx(math.log(2))
    assert mutual_information(b, c) == pytest.approx(math.log(2) + 1 / 8)
    assert mutual_information(torch.tensor([0, 1, 0, 1]), c, "none") == pytest.approx(0, abs=1e-12)
    assert mutual_information(torch.tensor([0, 1, 0, 1]), c) == pytest.approx(-1 / 8)


def test_xinghu_mi_by_hand():
    model = tiny(seed=2)
    a, y = acts(model)
    bins, top_k = 4, 2
    ids, counts = np.unique(y.numpy(), return_counts=True)
    top = [int(i) for _, i in sorted(zip(-counts, ids))][:top_k]
    c = [top.index(int(t)) if int(t) in top else top_k for t in y]
    want = {}
    for m in ("tgt_layer1", "attention"):
        h = a[m].numpy()
        want[m] = []
        for j in range(N):
            edges = np.quantile(h[:, j], np.arange(1, bins) / bins)
            want[m].append(_mi_by_hand(list(np.searchsorted(edges, h[:, j], side="right")), c))
    got = get_unit_score("xinghu-mi")(model, batches=BATCHES, bins=bins, top_k=top_k)
    close(got, {TIED: want["tgt_layer1"], ATT: want["attention"]})  # a tied group: its decoder member
    pred = get_unit_score("xinghu-mi")(model, batches=BATCHES, bins=bins, top_k=top_k, target="prediction")
    assert not torch.allclose(pred[ATT], got[ATT])


def test_xinghu_encoder_only_group_is_redundancy():
    model = tiny(el=2, dl=1, seed=3)  # unequal layer counts: src_layer1, src_layer2 are untied
    a, _ = acts(model)
    got = get_unit_score("xinghu-mi")(model, batches=BATCHES)
    for m in ("src_layer1", "src_layer2"):
        h = a[m].numpy()
        want = []
        for j in range(N):  # ½ log(1 − R²) of h_j regressed on the other units (+ intercept)
            X = np.column_stack([np.delete(h, j, axis=1), np.ones(len(h))])
            resid = h[:, j] - X @ np.linalg.lstsq(X, h[:, j], rcond=None)[0]
            want.append(0.5 * math.log((resid**2).sum() / ((h[:, j] - h[:, j].mean()) ** 2).sum()))
        np.testing.assert_allclose(got[m].double().numpy(), want, rtol=1e-4)
    assert (get_unit_score("xinghu-mi")(model, batches=BATCHES, encoder="zero")["src_layer1"] == 0).all()


def test_older_scores_errors():
    model = tiny()
    for name in ("n2ps", "hagiwara-goodness", "hagiwara-energy", "xinghu-mi"):
        assert get_unit_score(name).needs_data
        with pytest.raises(UnitError, match="needs minibatches"):
            get_unit_score(name)(model)
    assert not get_unit_score("hagiwara-power").needs_data
    for name, kw, message in (
        ("n2ps", {"activation": "sigmoid"}, "activation must be"),
        ("n2ps", {"reduce": "max"}, "reduce must be"),
        ("hagiwara-energy", {"sign": "neg"}, "sign must be"),
        ("xinghu-mi", {"bins": 1}, "bins must be an int >= 2"),
        ("xinghu-mi", {"target": "oracle"}, "target must be one of"),
    ):
        with pytest.raises(UnitError, match=message):
            get_unit_score(name)(model, batches=BATCHES, **kw)


# ---------------------------------------------------------------------- GReg
class _Opt:  # after_step only reads the learning rate
    def __init__(self, lr):
        self.param_groups = [{"lr": lr}]


def _rows(model, j):
    return torch.cat(
        [
            model.encoder.weight_ih_l0[[g * N + j for g in range(4)]].flatten(),
            model.decoder.weight_hh_l0[[g * N + j for g in range(4)]].flatten(),
        ]
    )


def test_greg1_lambda_follows_schedule_and_shrinks_only_the_penalised_rows():
    model = tiny(seed=4)
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    cfg = GRegConfig(delta=0.1, every=3, ceiling=0.5, stabilize=4, recover=0.05, mag_ratio=None)
    assert cfg.steps() == 3 * 5 + 4
    reg = GrowingRegularizer(model, cfg, 1 / 3, groups=[TIED])
    gone = int(torch.argmin(l1_unit(tiny(seed=4))[TIED]))  # GReg-1: the L1 choice, made up front
    assert reg.mask.removed() == {TIED: [gone], ATT: []}
    lr, factor = 0.2, 1.0
    for s in range(1, 24):
        reg(model, _Opt(lr))
        lam = min(0.5, 0.1 * (s // 3))
        factor *= 1 - lr * lam
        want = torch.full((N,), -0.05, dtype=torch.float64)
        want[gone] = lam
        torch.testing.assert_close(reg.lambdas()[TIED], want)
        torch.testing.assert_close(_rows(model, gone), _rows(tiny(seed=4), gone) * factor)
    kept = [j for j in range(N) if j != gone][0]
    torch.testing.assert_close(_rows(model, kept), _rows(tiny(seed=4), kept) * (1 + lr * 0.05) ** 23)
    assert set(reg.lambdas()) == {TIED}  # attention was not chosen: untouched, as are the out columns
    for name in ("attention.W_c", "generator.weight", "attention.W_a"):
        assert torch.equal(dict(model.named_parameters())[name], before[name])
    assert [h["step"] for h in reg.history] == list(range(3, 24, 3))
    assert reg.history[-1]["mag_ratio"] > 4 * reg.history[0]["mag_ratio"]


def test_greg2_uniform_then_picks_then_grows_and_mag_ratio_freezes():
    model = tiny(seed=5)
    cfg = GRegConfig(
        mode="greg-2",
        delta=0.2,
        every=2,
        ceiling=1.0,
        pick_delta=0.05,
        pick_ceiling=0.1,
        stabilize=0,
        recover=0.0,
        mag_ratio=None,
    )
    assert cfg.pick_step == 4 and cfg.steps() == 4 + 2 * 5
    reg = GrowingRegularizer(model, cfg, 0.5)
    for s in range(1, 15):
        reg(model, _Opt(0.1))
        lams = reg.lambdas()
        if s <= 4:
            assert all(torch.allclose(v, torch.full_like(v, min(0.1, 0.05 * (s // 2)))) for v in lams.values())
            assert (reg.mask is None) == (s < 4)
        else:
            lam = min(1.0, 0.1 + 0.2 * ((s - 4) // 2))
            for g, v in lams.items():
                torch.testing.assert_close(v, torch.where(reg.mask.keep[g], 0.0, lam).double())
    m = tiny(seed=5)
    frozen = GrowingRegularizer(m, GRegConfig(delta=0.2, every=1, ceiling=1.0, mag_ratio=2.0), 0.5)
    for _ in range(8):
        frozen(m, _Opt(0.5))
    assert frozen.frozen_at is not None and frozen.frozen_at < 8
    assert frozen.history[-1]["lam"] == frozen.history[frozen.frozen_at - 1]["lam"] < 1.0


def test_greg_config_and_step_errors():
    for kw, message in (
        ({"delta": 0}, "delta must be a finite number > 0"),
        ({"every": 0}, "every must be an int"),
        ({"mode": "greg-3"}, "mode must be one of"),
        ({"roles": ("in", "gate")}, "roles must be"),
        ({"stabilize": -1}, "stabilize must be"),
        ({"delta": 2.0}, "exceeds ceiling"),
        ({"mode": "greg-2", "pick_ceiling": 1.0}, "pick_ceiling < ceiling"),
        ({"recover": -1.0}, "recover must be"),
        ({"mag_ratio": float("nan")}, "mag_ratio must be"),
    ):
        with pytest.raises(UnitError, match=message):
            GRegConfig(**kw)
    model = tiny()
    reg = GrowingRegularizer(model, GRegConfig(delta=1.0, every=1, ceiling=5.0), 0.5)
    with pytest.raises(UnitError, match="lr x lambda"):
        for _ in range(5):
            reg(model, _Opt(0.5))
    with pytest.raises(UnitError, match="unknown layer"):
        GrowingRegularizer(model, GRegConfig(), 0.5, groups=["tgt_layer7"])


def test_greg_prune_cli_trains_penalises_and_writes_a_unit_pruned_model(tmp_path, capsys):
    dense, *_ = load_model(make_model(tmp_path / "dense"))
    args = [
        "greg",
        str(tmp_path / "dense"),
        "--fraction",
        "0.5",
        "--delta",
        "20",
        "--every",
        "1",
        "--ceiling",
        "100",
        "--stabilize",
        "2",
        "--mag-ratio",
        "0",
        "--no-progress",
        "--out",
        str(tmp_path / "g"),
    ]
    assert main(args) == 0
    info = json.loads((tmp_path / "g" / "prune.json").read_text())
    assert info["greg"]["steps"] == 7 and info["penalty_summary"]["steps"] == 7 and info["score"] == "greg-1"
    mask = UnitMask.load(tmp_path / "g" / "units.json")
    assert mask.kept() == {g: 4 for g in ("src_layer1+tgt_layer1", "src_layer2+tgt_layer2", "attention")}
    start = l1_unit(dense)
    assert all(set(mask.removed()[g]) == set(torch.argsort(start[g], stable=True)[:4].tolist()) for g in start)
    penalised, *_ = load_model(tmp_path / "g.penalty" / "last")
    end = l1_unit(penalised)
    for g, keep in mask.keep.items():  # removed rows: x (1 - 0.005 λ) per step -> far below the kept ones
        assert (end[g][~keep] / start[g][~keep]).max() < 0.2 < 0.8 < (end[g][keep] / start[g][keep]).min()
    pruned, *_ = load_model(tmp_path / "g")
    assert (l1_unit(pruned)["attention"][~mask.keep["attention"]] == 0).all()
    for score in ("n2ps", "hagiwara-goodness", "hagiwara-energy", "hagiwara-power", "xinghu-mi"):  # via prune-units
        assert (
            main(
                [
                    "prune-units",
                    str(tmp_path / "dense"),
                    "--score",
                    score,
                    "--fraction",
                    "0.25",
                    "--batches",
                    "2",
                    "--out",
                    str(tmp_path / score),
                ]
            )
            == 0
        )
        used = json.loads((tmp_path / score / "prune.json").read_text())["score_batches"]
        assert (used > 0) == (score != "hagiwara-power")
    capsys.readouterr()
    assert main([*args[:-1], str(tmp_path / "g2"), "--delta", "0"]) == 1
    assert "delta must be a finite number > 0" in capsys.readouterr().err
