"""Key map between UNITER's released checkpoints and vlkit's Uniter, and config inference.

vlkit keeps UNITER's parameter names, so the map is the identity except for:
- a leading `module.` (checkpoints saved from DataParallel/DDP) which is stripped;
- TF-era LayerNorm names `gamma`/`beta` (BERT conversions) renamed to `weight`/`bias`;
- the tied aliases `cls.predictions.decoder.weight` (= word embeddings) and
  `feat_regress.weight` (= img_linear.weight): optional on load (filled from their source),
  and written on export so UNITER's own code loads the result with strict=True.
Released checkpoints may hold only `uniter.*` or any subset of the heads; `infer_heads` finds
which heads a state dict carries so a model can be built to fit it.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import torch
import yaml
from torch import nn

from vlkit.interop.uniter_config import read_uniter_json, sidecar_path, uniter_json
from vlkit.models.config import ModelConfig
from vlkit.models.io import (
    CONFIG,
    WEIGHTS,
    LoadReport,
    load_model,
    load_state_dict_checked,
    read_state_dict,
    save_model,
)
from vlkit.models.nlvr2 import nlvr2_variant_of
from vlkit.models.presets import MODEL_PRESETS
from vlkit.models.uniter import Uniter
from vlkit.models.uniter import heads_in as infer_heads
from vlkit.utils.atomic import atomic_write, atomic_write_json
from vlkit.utils.errors import CheckpointError, ConfigError
from vlkit.utils.suggest import did_you_mean

log = logging.getLogger(__name__)
_LAYER = re.compile(r"^uniter\.encoder\.layer\.(\d+)\.")


def normalize_keys(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Strip `module.` and rename `gamma`/`beta` LayerNorm keys; other keys unchanged."""
    out = {}
    for key, value in sd.items():
        if key.startswith("module."):
            key = key[len("module."):]
        key = re.sub(r"LayerNorm\.gamma$", "LayerNorm.weight", key)
        key = re.sub(r"LayerNorm\.beta$", "LayerNorm.bias", key)
        out[key] = value
    return out


def load_uniter_state_dict(model: nn.Module, sd: dict[str, torch.Tensor],
                           strict: bool = True) -> LoadReport:
    """Copy a UNITER-named state dict (after `normalize_keys`) into a vlkit Uniter.

    Tied aliases may be absent (filled from their source) or present (must equal it). With
    strict=True any missing/unexpected/mis-shaped key raises a CheckpointError naming every
    such key; with strict=False the fitting keys load and the LoadReport lists the rest.
    """
    return load_state_dict_checked(model, normalize_keys(sd), strict, "UNITER state dict")


def export_uniter_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """The model's weights under UNITER's names (tied aliases included, as separate copies)."""
    return {key: value.detach().clone() for key, value in model.state_dict().items()}


def _require(sd: dict[str, torch.Tensor], key: str) -> torch.Tensor:
    if key not in sd:
        raise CheckpointError(f"not a UNITER checkpoint: key '{key}' is missing")
    return sd[key]


def infer_config(sd: dict[str, torch.Tensor], base: ModelConfig | None = None) -> ModelConfig:
    """ModelConfig sizes read from tensor shapes, validated against `base` (a preset) if given.

    Shapes fix vocab, hidden, layers, intermediate, positions, token types, img_dim and
    img_label_dim; the head count is not visible in shapes and comes from `base` (or
    hidden_size // 64, BERT's convention, with a warning). A shape that contradicts `base`
    raises a CheckpointError naming the key.
    """
    cfg = sizes_into_config(shape_sizes(sd), base, arch="uniter")
    cfg.nlvr2_variant = nlvr2_variant_of(sd, cfg.hidden_size) or cfg.nlvr2_variant
    return cfg


def shape_sizes(sd: dict[str, torch.Tensor]) -> dict[str, tuple[int, str]]:
    """{ModelConfig field: (size, the key whose shape shows it)} of a UNITER state dict."""
    word = _require(sd, "uniter.embeddings.word_embeddings.weight")
    layers = {int(m.group(1)) for k in sd if (m := _LAYER.match(k))}
    if not layers:
        raise CheckpointError("not a UNITER checkpoint: no 'uniter.encoder.layer.N.*' keys")
    found = {
        "vocab_size": (word.shape[0], "uniter.embeddings.word_embeddings.weight"),
        "hidden_size": (word.shape[1], "uniter.embeddings.word_embeddings.weight"),
        "num_layers": (max(layers) + 1, "uniter.encoder.layer.N"),
        "intermediate_size": (
            _require(sd, "uniter.encoder.layer.0.intermediate.dense.weight").shape[0],
            "uniter.encoder.layer.0.intermediate.dense.weight"),
        "max_position_embeddings": (
            _require(sd, "uniter.embeddings.position_embeddings.weight").shape[0],
            "uniter.embeddings.position_embeddings.weight"),
        "type_vocab_size": (
            _require(sd, "uniter.embeddings.token_type_embeddings.weight").shape[0],
            "uniter.embeddings.token_type_embeddings.weight"),
        "img_dim": (_require(sd, "uniter.img_embeddings.img_linear.weight").shape[1],
                    "uniter.img_embeddings.img_linear.weight"),
    }
    if "region_classifier.net.3.weight" in sd:
        found["img_label_dim"] = (sd["region_classifier.net.3.weight"].shape[0],
                                  "region_classifier.net.3.weight")
    return found


def sizes_into_config(found: dict[str, tuple[int, str]], base: ModelConfig | None,
                      arch: str) -> ModelConfig:
    """A ModelConfig with the sizes read from shapes ({field: (value, key it came from)}).

    Against `base` (a preset or a JSON config) every size must agree (CheckpointError naming
    the key), except the vocabulary size, which is taken from the weights with a warning (a
    model that differs from a preset only in its vocabulary is still that preset). Without
    `base` the head count, which no shape shows, is BERT's convention hidden_size // 64, and
    a warning says so and how to give the real one.
    """
    cfg = ModelConfig(arch=arch) if base is None else ModelConfig(**vars(base))
    for name, (value, key) in found.items():
        if base is not None and getattr(base, name) != value:
            if name != "vocab_size":
                raise CheckpointError(f"key '{key}' implies {name}={value} but model "
                                      f"'{base.name}' has {name}={getattr(base, name)}")
            log.warning("key '%s' holds %d token embeddings; model '%s' has vocab_size=%d: "
                        "using vocab_size=%d from the weights", key, value, base.name,
                        getattr(base, name), value)
        setattr(cfg, name, int(value))
    if base is None:
        cfg.num_heads = max(1, cfg.hidden_size // 64)
        log.warning("the weights do not show the number of attention heads: assumed "
                    "hidden_size // 64 = %d (BERT's convention); if that is wrong, pass the "
                    "model's JSON config (--config, e.g. UNITER's uniter-base.json with "
                    "num_attention_heads) or --model PRESET", cfg.num_heads)
    if cfg.hidden_size % cfg.num_heads:
        raise CheckpointError(f"hidden size {cfg.hidden_size} is not divisible by "
                              f"{cfg.num_heads} heads")
    return cfg


def preset_config(preset: str | None) -> ModelConfig | None:
    """MODEL_PRESETS[preset] as a ModelConfig (None for None); ConfigError if unknown."""
    if preset is None:
        return None
    if preset not in MODEL_PRESETS:
        raise ConfigError(f"unknown model '{preset}': {did_you_mean(preset, MODEL_PRESETS)}")
    return ModelConfig(**{**MODEL_PRESETS[preset], "name": preset})


def read_uniter_checkpoint(src: str | Path) -> dict[str, torch.Tensor]:
    """A released UNITER checkpoint (.pt via torch.load(weights_only=True), or .safetensors),
    keys normalised (`module.` stripped, gamma/beta renamed)."""
    return normalize_keys(read_state_dict(src))


def convert_uniter_checkpoint(src: str | Path, dst: str | Path, preset: str | None = None,
                              overwrite: bool = False, config: str | Path | None = None
                              ) -> tuple[Path, LoadReport, ModelConfig]:
    """Released UNITER checkpoint -> vlkit checkpoint folder `dst` (written atomically).

    Sizes come from tensor shapes, validated against the JSON `config` (UNITER's own, e.g.
    uniter-base.json, or the sidecar `vlkit convert uniter --export` writes: SRC.json is read
    when it exists and `config` is not given) on top of MODEL_PRESETS[preset]; the heads are
    those the checkpoint carries. A sidecar's vlkit run config (text vocabulary, stores) is
    kept in `dst`'s config.yaml. Every missing/unexpected/mis-shaped key is reported by name
    (CheckpointError) before anything is written.
    """
    if config is None and sidecar_path(src).is_file():
        config = sidecar_path(src)
        log.info("reading the model config from %s (beside %s)", config, src)
    sd = read_uniter_checkpoint(src)
    base, run_config = preset_config(preset), None
    if config is not None:
        found = read_uniter_json(config)
        # What neither the preset nor the JSON states (UNITER's JSON has no img_dim) is read
        # from the shapes; what they state is checked against the shapes.
        shapes = {name: value for name, (value, _) in shape_sizes(sd).items()}
        fields = {**(vars(base) if base is not None else shapes), **found.model}
        base, run_config = ModelConfig(**fields), found.run_config
        if preset is None and "name" not in found.model:
            base.name = Path(config).stem
    return convert_uniter_state_dict(sd, dst, preset, overwrite, source=str(src), base=base,
                                     run_config=run_config)


def convert_uniter_state_dict(sd: dict[str, torch.Tensor], dst: str | Path,
                              preset: str | None = None, overwrite: bool = False,
                              source: str = "state dict", base: ModelConfig | None = None,
                              run_config: dict | None = None
                              ) -> tuple[Path, LoadReport, ModelConfig]:
    """A UNITER-named state dict (already normalised) -> vlkit checkpoint folder `dst`.

    Shared by every converter whose key map ends at UNITER's names (UNITER itself, MMF).
    `base` (default: the preset's config) is what the shapes are checked against;
    `run_config` is written with it (default: the model config only).
    """
    if base is None:
        base = preset_config(preset)
    cfg = infer_config(sd, base)
    if base is None:
        cfg.name = "custom"
    heads, num_answers = infer_heads(sd)
    model = Uniter(cfg, heads=heads, num_answers=num_answers)
    report = load_state_dict_checked(model, sd, strict=True, source=source)
    return (save_model(model, dst, cfg, run_config, overwrite=overwrite), report, cfg)


def export_uniter_checkpoint(src: str | Path, dst: str | Path) -> Path:
    """vlkit checkpoint folder -> a UNITER-named state dict file (torch.save, atomic), with
    its config beside it in UNITER's JSON format (`sidecar_path(dst)`, see uniter_config).
    `src` may also be a run directory: its `model/` folder is exported."""
    src = Path(src)
    if not (src / WEIGHTS).is_file() and (src / "model" / WEIGHTS).is_file():
        src = src / "model"
    model = load_model(src)
    sd = export_uniter_state_dict(model)
    atomic_write(dst, lambda tmp: torch.save(sd, tmp))
    raw = yaml.safe_load((Path(src) / CONFIG).read_text(encoding="utf-8")) or {}
    atomic_write_json(sidecar_path(dst), uniter_json(model.cfg, raw))
    return Path(dst)
