"""``nmtprune export-onnx``: a model as ONNX graphs. ``nmtprune translate``/``evaluate`` read the directory."""

from __future__ import annotations

__all__ = ["add_cli"]


def _cmd_export(args) -> int:
    from ..errors import check_new_out, writing
    from ..train.checkpoint import load_model
    from .onnx_export import export_onnx, require_onnx

    require_onnx()  # before loading the model: a missing extra is the first thing to hear about
    out = check_new_out(args.out)
    model, _, _, _ = load_model(args.model)
    with writing(out):
        meta = export_onnx(model, args.model, out, int8=args.int8)
    sizes = ", ".join(
        f"{name} {size / 2**20:.1f} MiB" for name, size in meta["files"].items() if name.endswith(".onnx")
    )
    print(f"{out}: {meta['precision']} ({sizes})")
    return 0


def add_cli(sub) -> None:
    e = sub.add_parser("export-onnx", help="a model as ONNX graphs: the encoder and one decoder step")
    e.add_argument("model", help="a model directory (checkpoint, pruned, shrunk or compressed)")
    e.add_argument("--out", required=True, help="new directory: encoder.onnx, decoder_step.onnx, vocabularies")
    e.add_argument("--int8", action="store_true", help="int8 weights through onnxruntime's dynamic quantisation")
    e.set_defaults(func=_cmd_export)
