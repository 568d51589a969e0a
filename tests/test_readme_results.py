"""The README's generated results tables: they match the committed results, and the updater is safe."""

from __future__ import annotations

from pathlib import Path

import pytest

from nmtprune.cli import main
from nmtprune.config import ConfigError
from nmtprune.report.summary import BEGIN, END, _cell, readme_studies, summary, update_readme

ROOT = Path(__file__).resolve().parents[1]


def test_cells_show_mean_std_and_the_number_of_seeds():
    assert _cell([34.0, 35.0, 36.0]) == "35.00 ± 1.00 (3)"
    assert _cell([24.04]) == "24.04 (1)"
    assert _cell([]) == "–"
    assert _cell([8.74], seeded=False) == "8.74"  # pruning without training: no seeds to count


def test_the_committed_readme_shows_the_committed_results(monkeypatch):
    """Fails when results were added without `nmtprune report --readme README.md` (or the README was edited)."""
    monkeypatch.chdir(ROOT)
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert block == summary(ROOT / "results", readme_studies(ROOT / "studies")), (
        "README.md's results tables are stale: run `nmtprune report --readme README.md` and commit it"
    )


def test_the_studies_say_which_readme_tables_they_feed(tmp_path, monkeypatch):
    """The README's tables come from the studies whose ``readme:`` key names them, in table order."""
    monkeypatch.chdir(ROOT)
    assert [(t, p.name) for t, p in readme_studies(ROOT / "studies")] == [
        ("see", "see2016.yaml"),
        ("see", "see2016_tatoeba.yaml"),
        ("oneshot", "reconstruction.yaml"),
        ("weights", "saliency.yaml"),
        ("recipes", "saliency.yaml"),
        ("units", "units.yaml"),
    ]
    (tmp_path / "a.yaml").write_text("model: models/multi30k-en-de\nreadme: [units]\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("model: models/multi30k-en-de\nreadme: [see]\n", encoding="utf-8")
    assert [(t, p.name) for t, p in readme_studies(tmp_path)] == [("see", "b.yaml"), ("units", "a.yaml")]
    (tmp_path / "c.yaml").write_text("model: models/multi30k-en-de\nreadme: [headline]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"c.yaml: key 'readme\[0\]' must be one of \['see', 'oneshot', 'weights'"):
        readme_studies(tmp_path)


def test_update_replaces_only_the_block_and_is_idempotent(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)  # the study files name the model by a path relative to the repository
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\nbefore\n\n{BEGIN}\nold | stale\n{END}\n\nafter\n", encoding="utf-8")
    assert update_readme(readme, ROOT / "results") is True
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("# title\n\nbefore\n\n") and text.endswith("\n\nafter\n") and "old | stale" not in text
    assert "| pruned + retrained (5 epochs) |" in text and "| sparse from scratch (same mask, 11–15 epochs) |" in text
    assert "| score | schedule |" in text and "| score | pruned only | retrained |" in text
    assert "| recipe | epochs |" in text  # the longer recipes (studies/budget*.yaml) beside See et al.'s
    assert update_readme(readme, ROOT / "results") is False and readme.read_text(encoding="utf-8") == text


def test_a_readme_without_the_markers_is_an_error_naming_the_file(tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n{END}\n{BEGIN}\n", encoding="utf-8")  # out of order
    with pytest.raises(ValueError, match=r"README.md: expected a block"):
        update_readme(readme)
    with pytest.raises(SystemExit):
        main(["report", "--readme", str(readme)])
    assert "README.md: expected a block" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # neither a study nor --readme
        main(["report"])
    assert "give a STUDY file" in capsys.readouterr().err


def test_a_study_without_a_report_writes_none(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    assert main(["report", "studies/site.yaml", "--reports", str(tmp_path)]) == 0
    assert "studies/site.yaml: report: none, so no report is written" in capsys.readouterr().out
    assert not any(tmp_path.iterdir())
