"""``nmtprune compress``: int8 and k-means quantisation, positions, zstd coding, the loader and the CLI.

Everything runs on a tiny random model over the toy corpus (tests/data/toy), pruned by magnitude.
Expected values are always the same computation done another way (the quantiser's own dequantised
weights, the same model saved plainly), never hard-coded floating-point numbers.
"""

import json

import pytest
import torch

from nmtprune.cli import main
from nmtprune.compress import (
    COMPRESSED_FILE,
    REPORT_FILE,
    compress_directory,
    decode,
    encode,
    finetune_centroids,
    mean_loss,
    quantise_model,
    read_quantised,
    training_batches,
)
from nmtprune.compress.kmeans import kmeans_1d, linear_init
from nmtprune.compress.positions import (
    bitmask_bytes,
    decode_bitmask,
    decode_relative,
    encode_positions,
    relative_bytes,
)
from nmtprune.train.checkpoint import load_masks, load_model, save_checkpoint

from experiment_helpers import make_model

VARIANTS = [("int8", None), ("kmeans", 4), ("kmeans", 6)]


@pytest.fixture(scope="module")
def pruned(tmp_path_factory):
    """A tiny model pruned to 70 % by class-blind magnitude (a `nmtprune prune` directory)."""
    root = tmp_path_factory.mktemp("compress")
    make_model(root / "model")
    assert main(["prune", str(root / "model"), "--sparsity", "0.7", "--out", str(root / "pruned")]) == 0
    return root / "pruned"


def _bits(t: torch.Tensor) -> torch.Tensor:
    return t.contiguous().view(torch.int32)  # float32 as its bit pattern: -0.0 != +0.0 here


@pytest.mark.parametrize("method,bits", VARIANTS)
def test_round_trip_is_bit_exact(pruned, tmp_path, method, bits):
    model, *_ = load_model(pruned)
    masks = load_masks(pruned)
    q = quantise_model(model, masks, method, bits)
    expected = q.state_dict()
    data, parts = encode(q, level=3)
    assert sum(p["bytes"] for p in parts) == len(data)
    back = decode(data, "test")
    for name, want in expected.items():
        got = back.state_dict()[name]
        assert got.dtype == want.dtype and torch.equal(_bits(got), _bits(want)), name
    for name, t in q.tensors.items():
        assert torch.equal(back.tensors[name].codes, t.codes) and torch.equal(back.tensors[name].mask, t.mask)
        if method == "kmeans":
            assert int(t.codes.max()) < 2**bits
            assert torch.isin(expected[name][t.mask], q.codebooks[t.weight_class]).all()  # shared weights only
    # through the directory and load_model, as evaluate and translate read it
    out = tmp_path / "c"
    compress_directory(pruned, out, model, masks, method=method, bits=bits, level=3)
    loaded, *_ = load_model(out)
    for name, value in loaded.state_dict().items():
        assert torch.equal(_bits(value), _bits(expected[name])), name


@pytest.mark.parametrize("method,bits", VARIANTS)
def test_pruned_weights_stay_exactly_zero(pruned, tmp_path, method, bits):
    model, *_ = load_model(pruned)
    masks = load_masks(pruned)
    compress_directory(pruned, tmp_path / "c", model, masks, method=method, bits=bits, level=3)
    loaded, *_ = load_model(tmp_path / "c")
    named = dict(loaded.named_parameters())
    for name, keep in masks.items():
        assert (_bits(named[name].detach())[~keep] == 0).all(), name  # +0.0, not a small number or -0.0


def test_int8_is_per_row_symmetric(pruned):
    model, *_ = load_model(pruned)
    masks = load_masks(pruned)
    q = quantise_model(model, masks, "int8")
    for name, t in q.tensors.items():
        w = dict(model.named_parameters())[name].detach()
        amax = (w * masks[name]).abs().reshape(w.shape[0], -1).amax(dim=1)
        assert torch.equal(t.scales, amax / 127)
        assert int(t.codes.abs().max()) <= 127
        err = (q.dequantise(name) - w * masks[name]).abs().reshape(w.shape[0], -1)
        assert (err <= t.scales.unsqueeze(1) / 2 * (1 + 1e-5) + 1e-12).all()  # rounding, at most half a step


def test_kmeans_starts_linear_and_assigns_the_nearest_centroid():
    values = torch.tensor([-0.5, -0.1, 0.0, 0.2, 0.9])
    centroids, codes, iterations = kmeans_1d(values, 2, max_iter=0)
    assert iterations == 0 and torch.equal(centroids, linear_init(values, 4))
    assert torch.equal(centroids, torch.linspace(float(values[0]), float(values[-1]), 4, dtype=torch.float64).float())
    centroids, codes, _ = kmeans_1d(values, 2)
    assert torch.equal(centroids, torch.sort(centroids).values)
    nearest = (values.unsqueeze(1) - centroids.unsqueeze(0)).abs().argmin(dim=1)
    assert torch.equal(codes.long(), nearest)


def test_positions_round_trip_and_the_smaller_code_wins():
    def halve(b: bytes) -> bytes:
        return b[: len(b) // 2 + 1]

    g = torch.Generator().manual_seed(0)
    for density in (0.0, 0.001, 0.1, 0.5, 1.0):
        mask = torch.rand(37, 300, generator=g) < density  # gaps beyond 255 at low density
        assert torch.equal(decode_bitmask(bitmask_bytes(mask), mask.shape), mask)
        assert torch.equal(decode_relative(relative_bytes(mask), mask.shape), mask)
        name, coded = encode_positions(mask, halve)  # any code: the coded sizes decide
        sizes = {"bitmask": len(halve(bitmask_bytes(mask))), "relative": len(halve(relative_bytes(mask)))}
        assert len(coded) == min(sizes.values()) and sizes[name] == len(coded)
    with pytest.raises(ValueError, match="outside"):
        decode_relative(bytes([254, 254]), (2, 100))


def test_accounting_adds_up_to_the_file_size(pruned, tmp_path):
    model, *_ = load_model(pruned)
    report = compress_directory(pruned, tmp_path / "c", model, load_masks(pruned), method="kmeans", bits=5)
    size = (tmp_path / "c" / COMPRESSED_FILE).stat().st_size
    assert report == json.loads((tmp_path / "c" / REPORT_FILE).read_text())
    total = report["total"]
    assert total["bytes"] == size
    parts = sum(r["bytes"] for r in report["classes"].values()) + report["other"]["bytes"] + report["header"]["bytes"]
    assert parts == size
    assert total["bits_per_weight"] == round(8 * size / total["params"], 4)
    for r in report["classes"].values():
        assert r["bytes"] == r["positions_bytes"] + r["codes_bytes"] + r["side_bytes"]
        assert r["bits_per_weight"] == round(8 * r["bytes"] / r["weights"], 4)
        assert set(r["position_codes"].values()) <= {"bitmask", "relative"}
    assert total["fp32_dense_safetensors_bytes"] == (pruned / "model.safetensors").stat().st_size
    assert total["x_smaller"] == round(total["fp32_dense_safetensors_bytes"] / size, 3)
    assert "nmtprune evaluate" in report["bleu"]


def test_finetuning_lowers_the_loss_and_keeps_pruned_weights_zero(pruned):
    model, cfg, sv, tv = load_model(pruned)
    masks = load_masks(pruned)
    batches = training_batches(cfg, sv, tv, 2, 8)
    q = quantise_model(model, masks, "kmeans", 4)
    codes = {n: t.codes.clone() for n, t in q.tensors.items()}
    before = mean_loss(model, q, batches)
    info = finetune_centroids(model, q, batches, steps=10, lr=0.05)
    after = mean_loss(model, q, batches)
    assert info["loss_before"] == before and info["loss_after"] == after
    assert after < before
    for name, t in q.tensors.items():
        assert torch.equal(t.codes, codes[name])  # only the centroids move
        w = q.dequantise(name)
        assert (_bits(w)[~masks[name]] == 0).all()
        assert torch.equal(w[t.mask], q.codebooks[t.weight_class][t.codes.long()])
    with pytest.raises(ValueError, match="k-means"):
        finetune_centroids(model, quantise_model(model, masks, "int8"), batches, steps=1)


def test_cli_finetunes_and_the_file_holds_the_tuned_centroids(pruned, tmp_path, capsys):
    out = tmp_path / "c"
    args = ["compress", str(pruned), "--out", str(out), "--bits", "4", "--finetune-steps", "3", "--finetune-lr", "0.05"]
    assert main([*args, "--finetune-batches", "2", "--finetune-batch-size", "8", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    ft = report["info"]["finetune"]
    assert ft["steps"] == 3 and ft["batches"] == 2 and ft["loss_after"] < ft["loss_before"]
    model, cfg, sv, tv = load_model(out)
    q = read_quantised(out)
    batches = training_batches(cfg, sv, tv, 2, 8)
    assert mean_loss(model, q, batches) == ft["loss_after"]


def _cli(argv, capsys):
    rc = main(argv)
    return rc, capsys.readouterr()


@pytest.mark.parametrize("method,bits", [("int8", None), ("kmeans", 5)])
def test_evaluate_and_translate_match_the_plainly_saved_model(pruned, tmp_path, capsys, method, bits):
    comp = tmp_path / "c"
    argv = ["compress", str(pruned), "--out", str(comp), "--method", method] + (["--bits", str(bits)] if bits else [])
    rc, cap = _cli(argv, capsys)
    assert rc == 0 and "nmtprune evaluate" in cap.out and "x smaller" in cap.out
    model, cfg, sv, tv = load_model(pruned)
    q = quantise_model(model, load_masks(pruned), method, bits)  # the same computation, done again
    model.load_state_dict(q.state_dict())
    save_checkpoint(tmp_path / "plain", model, cfg, sv, tv)
    text = tmp_path / "in.txt"
    text.write_text("a man is walking .\ntwo dogs play in the grass .\n\na woman reads a book .\n", encoding="utf-8")
    outputs = []
    for d in (comp, tmp_path / "plain"):
        rc, cap = _cli(["translate", str(d), "--input", str(text), "--beam", "3"], capsys)
        assert rc == 0
        hyps = tmp_path / f"{d.name}.hyps"
        rc, ev = _cli(["evaluate", str(d), "--split", "test", "--beam", "2", "--json", "--hyps", str(hyps)], capsys)
        assert rc == 0
        metrics = json.loads(ev.out)
        outputs.append((cap.out, hyps.read_text(), metrics["bleu_tok_lc"], metrics["ppl"]))
    assert outputs[0] == outputs[1]


def _one_line_error(rc, cap, *needles):
    assert rc == 1 and cap.out == ""
    lines = cap.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), cap.err
    for n in needles:
        assert n in lines[0], (n, lines[0])


@pytest.mark.parametrize(
    "extra,needles",
    [
        (["--method", "fp4"], ["--method", "int8", "kmeans"]),
        (["--bits", "9"], ["--bits", "1..8"]),
        (["--method", "int8", "--bits", "4"], ["--bits", "kmeans"]),
        (["--method", "int8", "--finetune-steps", "2"], ["--finetune-steps", "kmeans"]),
        (["--finetune-steps", "-1"], ["--finetune-steps", ">= 0"]),
        (["--finetune-lr", "0"], ["--finetune-lr"]),
        (["--finetune-steps", "1", "--finetune-batches", "0"], ["--finetune-batches"]),
        (["--level", "30"], ["--level", "1..22"]),
    ],
)
def test_bad_options_are_one_line_errors(pruned, tmp_path, capsys, extra, needles):
    out = tmp_path / "c"
    _one_line_error(*_cli(["compress", str(pruned), "--out", str(out), *extra], capsys), *needles)
    assert not out.exists()


def test_bad_paths_are_one_line_errors(pruned, tmp_path, capsys):
    missing = tmp_path / "nowhere"
    _one_line_error(*_cli(["compress", str(missing), "--out", str(tmp_path / "c")], capsys), str(missing))
    used = tmp_path / "used"
    used.mkdir()
    (used / "x").write_text("x")
    _one_line_error(*_cli(["compress", str(pruned), "--out", str(used)], capsys), str(used), "--out")
    assert _cli(["compress", str(pruned), "--out", str(tmp_path / "c"), "--level", "1"], capsys)[0] == 0
    file = tmp_path / "c" / COMPRESSED_FILE
    data = file.read_bytes()
    for bad, needle in ((data[: len(data) // 2], "truncated"), (b"PK\x03\x04" + data[4:], "not a compressed")):
        file.write_bytes(bad)
        _one_line_error(*_cli(["evaluate", str(tmp_path / "c"), "--split", "test"], capsys), str(file), needle)
        _one_line_error(*_cli(["translate", str(tmp_path / "c"), "--input", str(file)], capsys), str(file))


def test_a_failed_write_leaves_no_directory(pruned, tmp_path, monkeypatch):
    import nmtprune.compress.directory as directory

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(directory.shutil, "copy2", boom)
    model, *_ = load_model(pruned)
    with pytest.raises(OSError):
        compress_directory(pruned, tmp_path / "c", model, load_masks(pruned), method="int8", level=1)
    assert list(tmp_path.iterdir()) == []
