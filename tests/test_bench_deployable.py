"""benchmarks/deployable.py's --add: a model trained elsewhere joins the variants, and bad items are one-line errors."""

import sys

import pytest

from nmtprune.cli import main

from conftest import ROOT
from experiment_helpers import make_model

sys.path.insert(0, str(ROOT / "benchmarks"))
import deployable  # noqa: E402


def test_added_models_become_variants_and_masked_ones_are_compressed(tmp_path):
    make_model(tmp_path / "dense")
    assert main(["prune", str(tmp_path / "dense"), "--sparsity", "0.7", "--out", str(tmp_path / "pruned")]) == 0
    extra = deployable.parse_added([f"plain={tmp_path / 'dense'}", f"p70={tmp_path / 'pruned'}"])
    got = deployable.added(extra, tmp_path / "work")
    names = [v["variant"] for v in got]
    # the unmasked model: as stored and in int8; the masked one also in each of the compressions
    assert names[:2] == ["plain, fp32", "plain, int8 (--int8)"]
    assert names[2:4] == ["p70, fp32", "p70, int8 (--int8)"]
    assert names[4:] == [f"p70 + {label}, --int8" for label, _, _ in deployable.COMPRESSIONS]
    stored = (tmp_path / "pruned" / "model.safetensors").stat().st_size
    assert got[2]["bytes"] == stored and all(v["bytes"] < stored for v in got[4:])  # compression ships less


@pytest.mark.parametrize("item", ["noequals", "=dir", "name="])
def test_a_malformed_add_is_a_one_line_error(item):
    with pytest.raises(SystemExit, match="expected NAME=DIR"):
        deployable.parse_added([item])


def test_an_add_without_a_model_is_a_one_line_error(tmp_path):
    with pytest.raises(SystemExit, match="has no model.safetensors"):
        deployable.parse_added([f"x={tmp_path}"])


def test_the_int8_variants_of_uncompressed_models_are_repeated_with_a_shortlist(tmp_path):
    from nmtprune import api as nmt

    dense = nmt.load(make_model(tmp_path / "dense"))
    variants = deployable.stored_and_int8("plain", dense.net, "model.safetensors", 1000)
    variants.append({"variant": "p70 + int8, --int8", "shipped": "model.compressed", "bytes": 10, "model": None})
    (tmp_path / "work").mkdir()
    got = deployable.with_shortlist(variants, dense, tmp_path / "work")
    # not the fp32 variant, not a compressed one; one per shortlist size
    assert [v["variant"] for v in got] == [
        "plain, int8 (--int8) + shortlist 20/500",
        "plain, int8 (--int8) + shortlist 10/200",
    ]
    assert got[0]["shipped"] == "model.safetensors + shortlist.safetensors" and got[0]["bytes"] > 1000
    assert [v["model"].shortlist.candidates.shape for v in got] == [(len(dense.src_vocab), k) for k in (20, 10)]
