"""Checkpoints: a directory of safetensors + JSON + vocabularies; no pickle is ever loaded.

Layout of ``DIR``::

    meta.json              {"format": "nmtprune-checkpoint", "version": 1, ...}
    config.json            the resolved ExperimentConfig (vocabulary sizes filled in)
    model.safetensors      weights (or model.sparse.safetensors from `export`, model.compressed from `compress`)
    src.vocab tgt.vocab    token<TAB>count per line
    trainer.safetensors    optimizer tensors and torch's RNG state (dropout) (only in resumable checkpoints)
    trainer.json           step, epoch, position in the epoch, lr state, history (idem)

A checkpoint is written to a sibling temporary directory ``.DIR.tmp<pid>`` and swapped in with two
renames (``DIR`` -> ``.DIR.old<pid>``, then the new one -> ``DIR``), so a crash leaves the old or the
new checkpoint, never a mix. A kill between the two renames leaves no ``DIR`` at all, only the two
hidden copies: :func:`recover_checkpoints` puts the newest complete one back.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Optional

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..config import ConfigError, ExperimentConfig, config_from_dict, config_to_dict
from ..data.vocab import Vocab
from ..models.seq2seq import Seq2Seq
from ..compress.directory import COMPRESSED_FILE, read_state
from ..compress.container import CompressedFileError
from ..sparse.compressed import SparseFileError, load_compressed
from ..sparse.masks import MaskFileError, MaskSet
from ..errors import UserError

__all__ = [
    "CheckpointError",
    "save_checkpoint",
    "load_model",
    "load_trainer_state",
    "write_json_atomic",
    "FORMAT",
    "VERSION",
    "MASKS_FILE",
    "load_masks",
    "recover_checkpoints",
    "resume_masks",
]

MASKS_FILE = "masks.safetensors"  # the pruning masks in force, in checkpoints of pruned training

FORMAT, VERSION = "nmtprune-checkpoint", 1


class CheckpointError(ValueError, UserError):
    """A checkpoint is missing, truncated, foreign or inconsistent."""


def write_json_atomic(path: str | Path, obj) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _swap_in(tmp: Path, final: Path) -> None:
    """Replace directory ``final`` by ``tmp`` with renames only."""
    old = final.with_name(f".{final.name}.old{os.getpid()}")
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    if old.exists():
        shutil.rmtree(old)


# ``.last.tmp123`` / ``.best.old123``: a copy left by _swap_in (or a file by an atomic write) of process 123
_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<kind>tmp|old)(?P<pid>\d+)$")


def _writing(pid: int) -> bool:
    """True when process ``pid`` (not this one) is alive and so may still be writing its copy."""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _complete(path: Path) -> Optional[dict]:
    """The meta.json of checkpoint copy ``path`` if it was written in full, else None."""
    try:
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
        # older copies list no files: then those every checkpoint has must be there
        files = meta.get("files") or {f: None for f in ("config.json", "src.vocab", "tgt.vocab", "model.safetensors")}
        if any(not (path / f).is_file() or n not in (None, (path / f).stat().st_size) for f, n in files.items()):
            return None
    except (OSError, ValueError, AttributeError):
        return None
    return meta


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def recover_checkpoints(out: str | Path) -> list[str]:
    """Undo what a kill during a checkpoint swap left in run directory ``out``; returns the names put back.

    Where ``DIR`` is missing (killed between the two renames), the complete hidden copy furthest in
    training (the new one, else the old) becomes ``DIR`` again. Every other leftover copy is deleted:
    each is a whole checkpoint, hundreds of MB. Copies of a live process other than this one are left
    alone: it may still be writing them.
    """
    out = Path(out)
    if not out.is_dir():
        return []
    leftovers: dict[str, list[tuple[str, Path]]] = {}
    for p in out.iterdir():
        m = _LEFTOVER.match(p.name)
        if m and not _writing(int(m["pid"])):
            leftovers.setdefault(m["name"], []).append((m["kind"], p))
    restored = []
    for name, found in sorted(leftovers.items()):
        final = out / name
        if not final.exists():
            whole = [
                (meta.get("step", -1), kind == "tmp", p.stat().st_mtime, p)
                for kind, p in found
                if p.is_dir() and not p.is_symlink() and (meta := _complete(p)) is not None
            ]
            if whole:
                os.replace(max(whole, key=lambda w: w[:3])[3], final)
                restored.append(name)
        for _, p in found:
            if p.exists() or p.is_symlink():
                _remove(p)
    return restored


def _optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict, dict]:
    sd = optimizer.state_dict()
    tensors, scalars = {}, {}
    for idx, st in sd["state"].items():
        for key, value in st.items():
            if torch.is_tensor(value):
                tensors[f"optim.{idx}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{idx}.{key}"] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def save_checkpoint(
    path: str | Path,
    model: Seq2Seq,
    cfg: ExperimentConfig,
    src_vocab: Vocab,
    tgt_vocab: Vocab,
    optimizer: Optional[torch.optim.Optimizer] = None,
    trainer: Optional[dict] = None,
    extra_meta: Optional[dict] = None,
    masks=None,
) -> None:
    """Write a checkpoint directory atomically. ``trainer`` (JSON-able) makes it resumable.

    ``masks`` (a MaskSet): the pruning masks in force, saved bit-packed as ``masks.safetensors``.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.tmp{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(tmp / "model.safetensors"), metadata={"format": FORMAT})
    (tmp / "config.json").write_text(json.dumps(config_to_dict(cfg), indent=2) + "\n", encoding="utf-8")
    src_vocab.save(tmp / "src.vocab")
    tgt_vocab.save(tmp / "tgt.vocab")
    if optimizer is not None and trainer is not None:
        tensors, optim_json = _optimizer_tensors(optimizer)
        tensors["rng.torch"] = torch.get_rng_state()
        if torch.cuda.is_available():  # dropout on a GPU draws from the CUDA generator
            tensors["rng.cuda"] = torch.cuda.get_rng_state()
        save_file(tensors, str(tmp / "trainer.safetensors"), metadata={"format": FORMAT})
        trainer = dict(trainer, optimizer=optim_json)
        (tmp / "trainer.json").write_text(json.dumps(trainer, indent=2) + "\n", encoding="utf-8")
    if masks is not None:
        masks.save(tmp / MASKS_FILE)
    # the size of every file written, in meta.json, written last: a copy whose meta.json lists files
    # that are all there at those sizes was written in full (what recovery after a kill relies on)
    files = {f.name: f.stat().st_size for f in sorted(tmp.iterdir())}
    meta = {"format": FORMAT, "version": VERSION, "torch": torch.__version__, **(extra_meta or {}), "files": files}
    (tmp / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    _swap_in(tmp, final)


def _read_meta(path: Path) -> dict:
    if not path.is_dir():
        raise CheckpointError(f"{path}: not a checkpoint directory (expected meta.json, model.safetensors, ...)")
    meta_file = path / "meta.json"
    if not meta_file.is_file():
        raise CheckpointError(f"{path}: no meta.json; not an nmtprune checkpoint")
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{meta_file}: unreadable ({exc})") from exc
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{meta_file}: format is {meta.get('format')!r}, expected {FORMAT!r}")
    if meta.get("version") != VERSION:
        raise CheckpointError(f"{meta_file}: version {meta.get('version')} is not supported (expected {VERSION})")
    return meta


def _load_tensors(file: Path) -> dict:
    if not file.is_file():
        raise CheckpointError(f"{file}: missing")
    try:
        return load_file(str(file))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{file}: truncated or not a safetensors file ({exc})") from exc


def load_model(path: str | Path, device="cpu"):
    """Load (model, cfg, src_vocab, tgt_vocab) from a checkpoint directory; the model is in eval mode."""
    path = Path(path)
    _read_meta(path)
    try:
        cfg = config_from_dict(
            json.loads((path / "config.json").read_text(encoding="utf-8")), str(path / "config.json")
        )
    except (OSError, json.JSONDecodeError, ConfigError) as exc:
        raise CheckpointError(f"{path / 'config.json'}: {exc}") from exc
    src_vocab, tgt_vocab = Vocab.load(path / "src.vocab"), Vocab.load(path / "tgt.vocab")
    model = Seq2Seq(cfg.model)
    if not (path / "model.safetensors").exists() and (path / "model.sparse.safetensors").exists():
        try:
            state = load_compressed(path / "model.sparse.safetensors")
        except SparseFileError as exc:
            raise CheckpointError(str(exc)) from exc
    elif not (path / "model.safetensors").exists() and (path / COMPRESSED_FILE).exists():
        try:  # `nmtprune compress`'s directory: exactly the quantised weights, dequantised
            state = read_state(path)
        except CompressedFileError as exc:
            raise CheckpointError(str(exc)) from exc
    else:
        state = _load_tensors(path / "model.safetensors")
    expected = model.state_dict()
    if set(state) != set(expected) or any(state[k].shape != expected[k].shape for k in expected):
        raise CheckpointError(f"{path / 'model.safetensors'}: tensors do not match the model in config.json")
    model.load_state_dict(state)
    for name, vocab, size in (
        ("src.vocab", src_vocab, cfg.model.src_vocab_size),
        ("tgt.vocab", tgt_vocab, cfg.model.tgt_vocab_size),
    ):
        if len(vocab) != size:  # a truncated or foreign vocabulary file
            raise CheckpointError(f"{path / name}: {len(vocab)} entries, config.json says {size}")
    return model.to(device).eval(), cfg, src_vocab, tgt_vocab


def load_trainer_state(path: str | Path, optimizer: torch.optim.Optimizer) -> dict:
    """Restore optimizer and RNG states from a resumable checkpoint; returns the trainer JSON."""
    path = Path(path)
    if not (path / "trainer.json").is_file():
        raise CheckpointError(f"{path}: not resumable (no trainer.json)")
    trainer = json.loads((path / "trainer.json").read_text(encoding="utf-8"))
    tensors = _load_tensors(path / "trainer.safetensors")
    optim_json = trainer["optimizer"]
    state: dict = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, idx, name = key.split(".", 2)
            state.setdefault(int(idx), {})[name] = value
    for key, value in optim_json["scalars"].items():
        idx, name = key.split(".", 1)
        state.setdefault(int(idx), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": optim_json["param_groups"]})
    torch.set_rng_state(tensors["rng.torch"])
    if "rng.cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["rng.cuda"])
    return trainer


def load_masks(path: str | Path):
    """The MaskSet saved in checkpoint ``path`` (None if it has none); MaskFileError if unreadable."""
    f = Path(path) / MASKS_FILE
    return MaskSet.load(f) if f.is_file() else None


def _describe(masks) -> str:
    pruned = sum(int(m.numel() - m.count_nonzero()) for m in masks.masks.values())
    total = sum(m.numel() for m in masks.masks.values())
    return f"{pruned} of {total} weights in {len(masks)} tensors pruned"


def resume_masks(path: str | Path, passed=None):
    """The fixed masks to resume checkpoint ``path`` under: the ones it trained under (saved with it).

    ``passed`` (a MaskSet, e.g. ``--mask`` again) must equal them; a run that trained without masks
    resumes without. Anything else would train on under other masks than those its weights were
    trained under, so it is refused.
    """
    path = Path(path)
    try:
        saved = load_masks(path)
    except MaskFileError as exc:
        raise CheckpointError(str(exc)) from exc
    if saved is None and passed is not None:
        raise CheckpointError(f"{path}: the run trained without masks; resume it without --mask")
    if saved is not None and passed is not None and not passed.equal(saved):
        raise CheckpointError(
            f"{path}: the run trains under the masks in {path / MASKS_FILE} ({_describe(saved)}), "
            f"not those passed ({_describe(passed)}); omit --mask or pass those same masks"
        )
    return passed if passed is not None else saved
