"""Model hyper-parameters: one dataclass shared by every variant of the single-stream encoder."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal


@dataclass
class ModelConfig:
    """Sizes and switches of the single-stream encoder (BERT names where BERT has one)."""

    # valid values, checked at config load (vlkit.configtools.check_ranges)
    RANGES: ClassVar[dict[str, str]] = {
        "vocab_size": ">= 1", "hidden_size": ">= 1", "num_layers": ">= 1", "num_heads": ">= 1",
        "intermediate_size": ">= 1", "hidden_dropout": "[0, 1)", "attention_dropout": "[0, 1)",
        "max_position_embeddings": ">= 1", "type_vocab_size": ">= 1",
        "initializer_range": ">= 0", "layer_norm_eps": "> 0", "img_dim": ">= 1",
        "img_label_dim": ">= 1", "vlbert_geo_dim": ">= 1",
    }

    name: str = "custom"  # zoo entry this config started from (see vlkit.models.presets)
    arch: Literal["uniter", "vlbert", "vlp"] = "uniter"
    vocab_size: int = 30522
    hidden_size: int = 768
    num_layers: int = 12
    num_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout: float = 0.1
    attention_dropout: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    img_dim: int = 2048  # region feature size
    img_label_dim: int = 1601  # detector classes incl. background (Visual Genome: 1600 + 1)
    activation_checkpointing: bool = False
    # run the token-wise layers (Q/K/V, projections, feed-forward, LayerNorm) over the real
    # positions only when the attention mask is a (B, L) padding mask; outputs at padding
    # positions are then zeros instead of the padded computation's values
    pack_tokens: bool = True
    # VL-BERT: sin/cos size per box coordinate (x-centre, y-centre, w, h) -> 8 x this
    vlbert_geo_dim: int = 256
    # NLVR2 head layout (UNITER's `--model`): each image with the sentence separately, the two
    # pooled outputs concatenated (paired); one sequence with both images (triplet); paired plus
    # cross-attention between the two sequences and attention pooling (paired-attn, UNITER's best)
    nlvr2_variant: Literal["paired", "triplet", "paired-attn"] = "paired-attn"
