"""Typed configuration: frozen dataclasses loaded from commented YAML.

A config file has three sections, ``data``, ``model`` and ``train``. Unknown keys and values of the
wrong type are errors that name the file and the key; nothing is silently ignored. Command-line
overrides use dotted keys (``train.lr=0.5``) and are parsed with YAML rules, then type-checked the
same way as the file.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, Optional

import yaml

from .errors import UserError

__all__ = [
    "ConfigError",
    "DataConfig",
    "ModelConfig",
    "TrainConfig",
    "ExperimentConfig",
    "load_config",
    "config_from_dict",
    "config_to_dict",
    "parse_overrides",
    "with_overrides",
    "read_yaml",
]


class ConfigError(ValueError, UserError):
    """A config file or override is invalid; the message names the key and what was expected."""


@dataclass(frozen=True)
class DataConfig:
    corpus: str = "multi30k-en-de"  # a name from `nmtprune data list`
    src_lang: str = "en"
    tgt_lang: str = "de"
    lowercase: bool = True  # the Multi30k tok-lc protocol lowercases both sides
    vocab: Literal["word", "bpe", "unigram"] = "word"  # word-level as See et al.; subwords via sentencepiece
    min_freq: int = 1  # word vocab: keep tokens seen at least this often in train
    max_vocab: int = 50000  # word vocab: cap on size (See et al.: 50K); subword: vocab size
    max_len: int = 50  # training pairs longer than this (tokens, either side) are dropped
    train_split: str = "train"
    dev_split: str = "val"


@dataclass(frozen=True)
class ModelConfig:
    emb_dim: int = 256
    hidden: int = 256
    enc_layers: int = 2
    dec_layers: int = 2
    attention: Literal["dot", "general"] = "general"
    input_feed: bool = True
    reverse_source: bool = True  # Luong/See reverse the source sentence
    dropout: float = 0.2
    init_range: float = 0.1  # uniform init in [-r, r]
    src_vocab_size: int = 0  # filled in from the vocabulary when training starts
    tgt_vocab_size: int = 0
    # Per-layer sizes, written by `nmtprune shrink` for unit-pruned models; None = `hidden` everywhere.
    enc_hidden: Optional[tuple[int, ...]] = None  # hidden units of each encoder layer (bottom first)
    dec_hidden: Optional[tuple[int, ...]] = None  # hidden units of each decoder layer (bottom first)
    attn_hidden: Optional[int] = None  # units of the attentional layer h~ (rows of W_c, softmax input)

    @property
    def enc_sizes(self) -> tuple[int, ...]:
        """Hidden size of every encoder layer, bottom first."""
        return tuple(self.enc_hidden) if self.enc_hidden is not None else (self.hidden,) * self.enc_layers

    @property
    def dec_sizes(self) -> tuple[int, ...]:
        """Hidden size of every decoder layer, bottom first."""
        return tuple(self.dec_hidden) if self.dec_hidden is not None else (self.hidden,) * self.dec_layers

    @property
    def attn_size(self) -> int:
        """Size of the attentional layer h~ (also the input-feeding width and the softmax input)."""
        return self.attn_hidden if self.attn_hidden is not None else self.hidden


@dataclass(frozen=True)
class TrainConfig:
    seed: int = 1
    epochs: int = 12
    batch_size: int = 128  # sentences per batch
    optimizer: Literal["sgd", "adam"] = "sgd"
    lr: float = 1.0
    momentum: float = 0.0  # SGD only
    clip_norm: float = 5.0  # gradient-norm clip
    lr_decay: float = 0.5  # multiply lr by this at each decay
    decay_start: int = 8  # halve every epoch after this epoch (1-based); 0 disables
    decay_on_plateau: bool = False  # also decay whenever dev perplexity does not improve
    decays_per_epoch: int = 1  # See et al.'s retraining halves every half epoch: 2
    early_stop_patience: int = (
        0  # stop after this many epochs without dev BLEU gain (counted once it is > 0); 0 = never
    )
    # bf16 autocast: auto = where the hardware computes bf16 natively (CPU: AVX512_BF16/AMX; CUDA: else fp16
    # with loss scaling); true = bf16 or a clear error; false = fp32 (nmtprune/train/precision.py)
    bf16: Literal["auto", True, False] = "auto"
    dev_beam: int = 1  # beam size for the per-epoch dev BLEU (1 = greedy)
    log_every: int = 50  # steps between JSONL log lines
    save_every: int = 500  # steps between resumable "last" checkpoints; 0 = only at the end of each epoch
    threads: int = 0  # torch intra-op threads; 0 = leave torch's default
    max_steps: int = 0  # stop after this many optimizer steps (tests, benchmarks); 0 = no limit
    label_smoothing: float = 0.0  # training loss only (Szegedy et al.); logged loss/ppl stay plain NLL
    keep_epochs: int = 0  # also keep the weights after each of the last N epochs (out/epoch-NNN), for averaging


@dataclass(frozen=True)
class ExperimentConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


_SECTIONS = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig}


def _check_value(where: str, key: str, value: Any, annotation: Any) -> Any:
    """Return ``value`` converted to ``annotation`` or raise ConfigError naming ``where``/``key``."""
    origin = typing.get_origin(annotation)
    if origin is Literal:
        choices = typing.get_args(annotation)
        if not any(value == c and type(value) is type(c) for c in choices):  # 1 is not True
            raise ConfigError(f"{where}: key '{key}' must be one of {list(choices)}, got {value!r}")
        return value
    if origin is typing.Union:  # Optional[X]
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return None if value is None else _check_value(where, key, value, args[0])
    if origin is tuple:  # tuple[int, ...]: YAML/JSON give a list
        (item,) = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: key '{key}' must be a list, got {value!r}")
        return tuple(_check_value(where, f"{key}[{i}]", v, item) for i, v in enumerate(value))
    if annotation is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: key '{key}' must be true or false, got {value!r}")
        return value
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: key '{key}' must be an integer, got {value!r}")
        return value
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: key '{key}' must be a number, got {value!r}")
        if not math.isfinite(value):  # YAML reads .nan and .inf; no setting means either
            raise ConfigError(f"{where}: key '{key}' must be a finite number, got {value!r}")
        return float(value)
    if annotation is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: key '{key}' must be a string, got {value!r}")
        return value
    raise ConfigError(f"{where}: key '{key}' has an unsupported type {annotation}")  # pragma: no cover


def _build(cls, raw: dict, where: str):
    hints = typing.get_type_hints(cls)
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(raw) - names)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; expected some of {sorted(names)}")
    kwargs = {k: _check_value(where, k, v, hints[k]) for k, v in raw.items()}
    return cls(**kwargs)


def config_from_dict(raw: dict, where: str = "config") -> ExperimentConfig:
    """Build an ExperimentConfig from a nested dict, rejecting unknown keys and wrong types."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping with sections {sorted(_SECTIONS)}")
    unknown = sorted(set(raw) - set(_SECTIONS))
    if unknown:
        raise ConfigError(f"{where}: unknown section(s) {unknown}; expected {sorted(_SECTIONS)}")
    parts = {}
    for name, cls in _SECTIONS.items():
        section = raw.get(name) or {}
        if not isinstance(section, dict):
            raise ConfigError(f"{where}: section '{name}' must be a mapping")
        parts[name] = _build(cls, section, f"{where}: {name}")
    cfg = ExperimentConfig(**parts)
    _validate(cfg, where)
    return cfg


def _validate(cfg: ExperimentConfig, where: str) -> None:
    """Range checks that types alone cannot express."""
    m, t, d = cfg.model, cfg.train, cfg.data
    positive = {
        "model.emb_dim": m.emb_dim,
        "model.hidden": m.hidden,
        "model.enc_layers": m.enc_layers,
        "model.dec_layers": m.dec_layers,
        "train.batch_size": t.batch_size,
        "train.epochs": t.epochs,
        "data.max_len": d.max_len,
        "data.min_freq": d.min_freq,
        "data.max_vocab": d.max_vocab,
        "train.dev_beam": t.dev_beam,
        "train.decays_per_epoch": t.decays_per_epoch,
        "train.log_every": t.log_every,
    }
    for key, value in positive.items():
        if value < 1:
            raise ConfigError(f"{where}: key '{key}' must be >= 1, got {value}")
    # 0 means something for each of these (never, no limit, torch's default, no momentum); below it nothing does
    counts = {
        "train.save_every": t.save_every,
        "train.max_steps": t.max_steps,
        "train.threads": t.threads,
        "train.keep_epochs": t.keep_epochs,
        "train.early_stop_patience": t.early_stop_patience,
        "train.decay_start": t.decay_start,
        "train.momentum": t.momentum,
    }
    for key, value in counts.items():
        if value < 0:
            raise ConfigError(f"{where}: key '{key}' must be >= 0, got {value}")
    _validate_sizes(m, where)
    if not 0.0 <= m.dropout < 1.0:
        raise ConfigError(f"{where}: key 'model.dropout' must be in [0, 1), got {m.dropout}")
    if not 0.0 <= cfg.train.label_smoothing < 1.0:
        raise ConfigError(f"{where}: key 'train.label_smoothing' must be in [0, 1), got {cfg.train.label_smoothing}")
    if t.lr <= 0:
        raise ConfigError(f"{where}: key 'train.lr' must be > 0, got {t.lr}")
    if t.clip_norm <= 0:  # a norm clipped to 0 would zero every gradient
        raise ConfigError(f"{where}: key 'train.clip_norm' must be > 0, got {t.clip_norm}")
    if not 0.0 < t.lr_decay <= 1.0:
        raise ConfigError(f"{where}: key 'train.lr_decay' must be in (0, 1], got {t.lr_decay}")


def _validate_sizes(m: ModelConfig, where: str) -> None:
    """Per-layer sizes: one per layer, positive, and equal where the architecture ties them."""
    for key, sizes, layers in (("enc_hidden", m.enc_hidden, m.enc_layers), ("dec_hidden", m.dec_hidden, m.dec_layers)):
        if sizes is not None and len(sizes) != layers:
            raise ConfigError(f"{where}: key 'model.{key}' needs one size per layer ({layers}), got {list(sizes)}")
        if sizes is not None and min(sizes) < 1:
            raise ConfigError(f"{where}: key 'model.{key}' sizes must be >= 1, got {list(sizes)}")
    if m.attn_hidden is not None and m.attn_hidden < 1:
        raise ConfigError(f"{where}: key 'model.attn_hidden' must be >= 1, got {m.attn_hidden}")
    enc, dec = m.enc_sizes, m.dec_sizes
    # Luong: decoder layer k starts from encoder layer k's final (h, c), so their widths must agree
    if m.enc_layers == m.dec_layers and enc != dec:
        raise ConfigError(
            f"{where}: encoder and decoder layer sizes must be equal when the decoder starts "
            f"from the encoder's states (same layer count); got {list(enc)} and {list(dec)}"
        )
    if m.attention == "dot" and enc[-1] != dec[-1]:
        raise ConfigError(
            f"{where}: dot attention needs equal top encoder and decoder sizes, got {enc[-1]} and {dec[-1]}"
        )


def parse_overrides(overrides: list[str]) -> dict:
    """Turn ``["train.lr=0.5", "model.hidden=512"]`` into a nested dict (values parsed as YAML)."""
    nested: dict = {}
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override '{item}': expected section.key=value")
        key, _, text = item.partition("=")
        parts = key.strip().split(".")
        if len(parts) != 2:
            raise ConfigError(f"override '{item}': key must be section.key, e.g. train.lr")
        nested.setdefault(parts[0], {})[parts[1]] = yaml.safe_load(text)
    return nested


def _merge(base: dict, extra: dict) -> dict:
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in base.items()}
    for section, values in extra.items():
        if isinstance(out.get(section), dict) and isinstance(values, dict):
            out[section].update(values)
        else:
            out[section] = values
    return out


def read_yaml(path: str | Path, what: str = "config") -> Any:
    """Parse a YAML file; a missing file or bad YAML is a ConfigError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: {what} file not found")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what} file ({exc.strerror})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"{path}:{line}: {what} file is not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from None  # one line


def load_config(path: str | Path, overrides: Optional[list[str]] = None) -> ExperimentConfig:
    """Load a YAML config file and apply ``section.key=value`` overrides."""
    raw = read_yaml(path)
    if overrides:
        raw = _merge(raw or {}, parse_overrides(overrides))
    return config_from_dict(raw, str(path))


def with_overrides(
    cfg: ExperimentConfig, overrides: list[str], where: str = "overrides", **train_values
) -> ExperimentConfig:
    """A copy of ``cfg`` with ``train`` keys replaced by ``train_values``, then ``section.key=value`` overrides.

    The copy's ``train.bf16`` is ``auto`` unless ``train_values`` or an override says otherwise: a stored
    config's precision records how that run was trained on its machine, not a setting for the next run on
    this one (a model trained in bf16 on an AVX-512 CPU still retrains, in fp32, on an AVX2 CPU).
    """
    raw = config_to_dict(cfg)
    raw["train"].update({"bf16": "auto", **train_values})
    return config_from_dict(_merge(raw, parse_overrides(list(overrides))), where)


def config_to_dict(cfg: ExperimentConfig) -> dict:
    """Plain nested dict of a config (JSON/YAML serialisable)."""
    return dataclasses.asdict(cfg)
