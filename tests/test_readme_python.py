"""The README's Python example runs as written on the shipped model and prunes what it says."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_python_example_runs_and_prunes_half_of_the_weight_classes(capsys, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 1, "the README has one Python example"
    assert len(blocks[0].strip().splitlines()) <= 10, "the README's Python example fits in ten lines"
    monkeypatch.chdir(ROOT)
    scope: dict = {}
    exec(compile(blocks[0], "README.md", "exec"), scope)
    stats, metrics = scope["masks"].stats(scope["m"].net)["overall"], scope["metrics"]
    assert abs(stats["sparsity"] - 0.5) < 1e-6
    assert 0.0 <= metrics["bleu_tok_lc"] <= 100.0 and metrics["ppl"] > 1.0
    assert capsys.readouterr().out.strip()
