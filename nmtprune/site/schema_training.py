"""Sub-schemas of training on the site: a recorded retraining run's frames, and the measured retrained curves.

:mod:`nmtprune.experiments.siteframes` records the frames, :mod:`.retrained` and :mod:`.results` read the
curves from the studies' results; :mod:`.schema` puts them into the export's schema.
"""

from __future__ import annotations

from .schema_views import INT0, NUM, NUM_OR_NULL, STR

__all__ = ["TRAINING", "RESULTS_OF", "RETRAINED_POINT", "RETRAINED"]

# a retraining-frames artifact (nmtprune.experiments.siteframes.retraining), as the export embeds it
TRAINING = {
    "type": "object",
    "required": [
        "id",
        "kind",
        "method",
        "sparsity",
        "provenance",
        "model",
        "recipe",
        "param",
        "shape",
        "rule",
        "rows",
        "cols",
        "row_stride",
        "col_stride",
        "blocks",
        "w0_scale",
        "w0",
        "keep",
        "delta_scale",
        "frames",
        "traces",
        "dense_dev_ppl",
        "matched_model",
    ],
    "properties": {
        "id": STR,
        "kind": {"enum": ["retrain", "from-init", "greg"]},
        "method": STR,
        # kind greg (nmtprune.experiments.siteframes.greg): the penalty phase's schedule and what it buys
        "greg": {
            "type": "object",
            "required": [
                "mode",
                "fraction",
                "delta",
                "every",
                "ceiling",
                "stabilize",
                "removed",
                "removed_rows",
                "ppl_after_penalty",
                "ppl_after_penalty_pruned",
            ],
        },
        "sparsity": {"type": "number", "minimum": 0, "maximum": 1},
        "provenance": {"type": "object", "required": ["command", "commit", "seed"]},
        "model": {"type": "object", "required": ["hash"]},
        "recipe": {"type": "object", "required": ["steps", "every", "optimizer", "lr", "batch_size", "dev_sentences"]},
        "rows": {"type": "integer", "minimum": 1},
        "cols": {"type": "integer", "minimum": 1},
        "w0_scale": NUM,
        "delta_scale": NUM,
        "w0": STR,
        "keep": STR,
        "matched_model": {"type": "boolean"},
        "frames": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["step", "dev_ppl", "train_loss", "delta", "drift", "pruned_nonzero"],
                "properties": {
                    "step": INT0,
                    "dev_ppl": NUM,
                    "train_loss": NUM_OR_NULL,
                    "lr": NUM_OR_NULL,
                    "delta": STR,
                    "drift": {"type": "object"},
                    "pruned_nonzero": {"const": 0},
                },
            },
        },
        "traces": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["cell", "row", "col", "values"],
                "properties": {"cell": INT0, "values": {"type": "array", "items": NUM}},
            },
        },
    },
}
# the study a kind of curve comes from (the unit-eval curves': results.units)
RESULTS_OF = {
    "type": "object",
    "required": ["study", "matched_model", "points"],
    "properties": {"matched_model": {"type": "boolean"}, "points": INT0, "study_path": {"type": ["string", "null"]}},
}  # the YAML that sweeps it
# one retrained point: mean and sample std over training seeds, and the seeds' own values (nmtprune.site.retrained)
RETRAINED_POINT = {
    "type": "object",
    "required": ["sparsity", "bleu", "bleu_std", "n", "bleus"],
    "properties": {
        "sparsity": {"type": "number", "minimum": 0, "maximum": 100},
        "bleu": NUM_OR_NULL,
        "bleu_std": NUM_OR_NULL,
        "n": INT0,
        "ppl": NUM_OR_NULL,
        "bleus": {"type": "array", "items": NUM},
    },
}
RETRAINED = {
    "type": "object",
    "required": ["kind", "label", "schedule", "study", "study_path", "points"],
    "properties": {
        "kind": {"enum": ["retrain", "scratch", "unit-retrain"]},
        "label": STR,
        "schedule": STR,
        "study_path": {"type": ["string", "null"]},
        "matched_model": {"type": "boolean"},
        "points": {"type": "array", "items": RETRAINED_POINT},
    },
}
