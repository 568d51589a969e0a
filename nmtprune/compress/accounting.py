"""Bits per weight and size ratios of a compressed model, from the file's own byte accounting.

Every byte of the file is charged to something: a weight class gets its tensors' positions, codes
and side information (int8 row scales or the k-means codebook); the biases, kept exactly, are
``other``; the magic, length and header are ``header``. The rows therefore add up to the file size,
and "bits per weight" counts everything needed to rebuild the weights, not just the codes.

Bits per weight are per weight of the dense matrix (pruned ones included), which is what a size
comparison needs; per kept weight is given beside it. The reference is the fp32 dense
``model.safetensors`` a checkpoint would hold (its exact size, header included).
"""

from __future__ import annotations

__all__ = ["account", "format_report", "BLEU_NOTE"]

BLEU_NOTE = "BLEU is not measured here: run `nmtprune evaluate DIR --split test` on the compressed directory"


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None


def account(parts: list[dict], q, file_bytes: int, fp32_file_bytes: int) -> dict:
    """The report: per weight class, ``other`` (biases), ``header`` and ``total``.

    Args:
        parts: :func:`nmtprune.compress.container.encode`'s accounting; q: the QuantisedModel.
        file_bytes: the file's size (must equal the parts' sum); fp32_file_bytes: the dense
            float32 safetensors size of the same model.
    """
    if sum(p["bytes"] for p in parts) != file_bytes:
        raise RuntimeError("the byte accounting does not add up to the file size")
    classes: dict[str, dict] = {}
    for t in q.tensors.values():
        row = classes.setdefault(
            t.weight_class,
            {"weights": 0, "kept": 0, "positions_bytes": 0, "codes_bytes": 0, "side_bytes": 0, "position_codes": {}},
        )
        row["weights"] += int(t.mask.numel())
        row["kept"] += t.n_kept
    for p in parts:
        if p["class"] is None:
            continue
        row = classes[p["class"]]
        key = {"positions": "positions_bytes", "codes": "codes_bytes"}.get(p["part"], "side_bytes")
        row[key] += p["bytes"]
        if p["part"] == "positions":  # which position code this matrix got
            row["position_codes"][p["tensor"]] = p["code"]
    for row in classes.values():
        row["bytes"] = row["positions_bytes"] + row["codes_bytes"] + row["side_bytes"]
        row["bits_per_weight"] = round(8 * row["bytes"] / row["weights"], 4) if row["weights"] else None
        row["bits_per_kept_weight"] = round(8 * row["bytes"] / row["kept"], 4) if row["kept"] else None
        row["fp32_bytes"] = 4 * row["weights"]
        row["x_smaller"] = _ratio(row["fp32_bytes"], row["bytes"])
    other = sum(p["bytes"] for p in parts if p["part"] == "dense")
    n_other = sum(t.numel() for t in q.dense.values())
    header = sum(p["bytes"] for p in parts if p["part"] == "header")
    n_class = sum(r["weights"] for r in classes.values())
    class_bytes = sum(r["bytes"] for r in classes.values())
    return {
        "classes": classes,
        "weight_classes_total": {
            "weights": n_class,
            "kept": sum(r["kept"] for r in classes.values()),
            "bytes": class_bytes,
            "bits_per_weight": round(8 * class_bytes / n_class, 4) if n_class else None,
        },
        "other": {"what": "biases, kept exactly as stored, entropy-coded", "params": n_other, "bytes": other},
        "header": {"bytes": header},
        "total": {
            "params": n_class + n_other,
            "bytes": file_bytes,
            "bits_per_weight": round(8 * file_bytes / (n_class + n_other), 4),
            "fp32_dense_safetensors_bytes": fp32_file_bytes,
            "x_smaller": _ratio(fp32_file_bytes, file_bytes),
        },
        "bleu": BLEU_NOTE,
    }


def format_report(report: dict) -> str:
    """The report as a table: one line per weight class, then biases, header and total."""
    lines = [
        f"{'class':12s} {'weights':>11s} {'kept':>10s} {'positions':>16s} {'bytes':>11s} "
        f"{'bits/weight':>11s} {'bits/kept':>9s} {'x smaller':>9s}"
    ]
    for name, r in report["classes"].items():
        codes = sorted({c for c in r["position_codes"].values() if c})
        bpk = f"{r['bits_per_kept_weight']:9.2f}" if r["bits_per_kept_weight"] is not None else f"{'-':>9s}"
        lines.append(
            f"{name:12s} {r['weights']:11,d} {r['kept']:10,d} {'+'.join(codes) or '-':>16s} {r['bytes']:11,d} "
            f"{r['bits_per_weight']:11.3f} {bpk} {r['x_smaller'] or 0:9.2f}"
        )
    t, w = report["total"], report["weight_classes_total"]
    lines.append(
        f"{'classes':12s} {w['weights']:11,d} {w['kept']:10,d} {'':16s} {w['bytes']:11,d} {w['bits_per_weight']:11.3f}"
    )
    lines.append(f"{'biases':12s} {report['other']['params']:11,d} {'':10s} {'':16s} {report['other']['bytes']:11,d}")
    lines.append(f"{'header':12s} {'':11s} {'':10s} {'':16s} {report['header']['bytes']:11,d}")
    lines.append(
        f"{'total':12s} {t['params']:11,d} {'':10s} {'':16s} {t['bytes']:11,d} {t['bits_per_weight']:11.3f} "
        f"{'':9s} {t['x_smaller'] or 0:9.2f}"
    )
    lines.append(
        f"fp32 dense model.safetensors: {t['fp32_dense_safetensors_bytes']:,d} bytes; {t['x_smaller']}x smaller"
    )
    lines.append(report["bleu"])
    return "\n".join(lines)
