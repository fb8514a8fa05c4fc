"""BERT-style post-LN transformer layer, the layer stack and the [CLS] pooler."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from vlkit.modules.activations import ACTIVATIONS
from vlkit.modules.attention import AddNorm, Attention, KeyValue
from vlkit.modules.packing import TokenPacking


class Intermediate(nn.Module):
    """First feed-forward projection H -> I and its activation."""

    def __init__(self, hidden_size: int, intermediate_size: int, act: str):
        super().__init__()
        if act not in ACTIVATIONS:
            raise ValueError(f"unknown activation '{act}', expected one of {sorted(ACTIVATIONS)}")
        self.dense = nn.Linear(hidden_size, intermediate_size)
        self.act = ACTIVATIONS[act]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.dense(x))


class TransformerLayer(nn.Module):
    """attention -> intermediate -> output (names as BERT's `encoder.layer.N`)."""

    def __init__(self, hidden_size: int, num_heads: int, intermediate_size: int, act: str,
                 hidden_dropout: float, attention_dropout: float, eps: float):
        super().__init__()
        self.attention = Attention(hidden_size, num_heads, attention_dropout, hidden_dropout, eps)
        self.intermediate = Intermediate(hidden_size, intermediate_size, act)
        self.output = AddNorm(intermediate_size, hidden_size, hidden_dropout, eps)

    def forward(self, hidden: torch.Tensor, bias: torch.Tensor | None,
                output_attentions: bool = False, packing: TokenPacking | None = None,
                rows: torch.Tensor | None = None
                ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """(B, L, H) -> (B, L, H) [, attention probabilities (B, nh, L, L)]; with `packing`
        the real positions only, (N, H) -> (N, H); with `rows` (S,) only those flattened
        positions come out, (S, H) (see Attention)."""
        if not output_attentions:
            attended = self.attention(hidden, bias, packing=packing, rows=rows)
            return self.output(self.intermediate(attended), attended)
        attended, probs = self.attention(hidden, bias, output_attentions=True)
        return self.output(self.intermediate(attended), attended), probs

    def forward_cached(self, hidden: torch.Tensor, bias: torch.Tensor | None, past: KeyValue,
                       keep: int) -> tuple[torch.Tensor, KeyValue]:
        attended, past = self.attention.forward_cached(hidden, bias, past, keep)  # (B, n, H)
        return self.output(self.intermediate(attended), attended), past


class TransformerStack(nn.Module):
    """`num_layers` TransformerLayers; optional activation checkpointing while training."""

    def __init__(self, num_layers: int, checkpointing: bool = False, **layer_kwargs):
        super().__init__()
        self.layer = nn.ModuleList(TransformerLayer(**layer_kwargs) for _ in range(num_layers))
        self.checkpointing = checkpointing

    def forward(self, hidden: torch.Tensor, bias: torch.Tensor | None,
                packing: TokenPacking | None = None, last_rows: torch.Tensor | None = None
                ) -> list[torch.Tensor]:
        """hidden (B, L, H), bias (B, 1, 1|L, L) -> output of every layer, each (B, L, H).
        With `packing` (vlkit.modules.packing), hidden and every output hold only the real
        positions, (N, H): the token-wise layers skip the padding. With `last_rows` (S,),
        indices into the flattened positions (B * L, or N packed), the last layer computes
        and returns those positions only, (S, H): where a loss reads a few outputs (MLM, MRM),
        its output projection and feed-forward skip the rest."""
        outputs = []
        for i, layer in enumerate(self.layer):
            rows = last_rows if i == len(self.layer) - 1 else None
            if self.checkpointing and self.training and torch.is_grad_enabled():
                hidden = checkpoint(layer, hidden, bias, packing=packing, rows=rows,
                                    use_reentrant=False)
            else:
                hidden = layer(hidden, bias, packing=packing, rows=rows)
            outputs.append(hidden)
        return outputs

    def forward_with_attentions(self, hidden: torch.Tensor, bias: torch.Tensor | None
                                ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """As `forward`, plus every layer's attention probabilities, each (B, nh, L, L)
        (explicit softmax, no checkpointing: for analysis, not for the training loop)."""
        outputs, attentions = [], []
        for layer in self.layer:
            hidden, probs = layer(hidden, bias, output_attentions=True)
            outputs.append(hidden)
            attentions.append(probs)
        return outputs, attentions

    def forward_cached(self, hidden: torch.Tensor, bias: torch.Tensor | None,
                       past: list[KeyValue] | None, keep: int
                       ) -> tuple[torch.Tensor, list[KeyValue]]:
        """Incremental pass: hidden (B, n, H) attends over each layer's cached keys/values
        (`past`, None = nothing cached) and its own; bias (B, 1, n, Lpast + n). Returns the
        last layer's output (B, n, H) and the caches extended by the first `keep` positions."""
        if past is None:
            past = [layer.attention.self.empty_past(hidden.shape[0], hidden)
                    for layer in self.layer]
        new_past = []
        for layer, layer_past in zip(self.layer, past, strict=True):
            hidden, layer_past = layer.forward_cached(hidden, bias, layer_past, keep)
            new_past.append(layer_past)
        return hidden, new_past


class Pooler(nn.Module):
    """tanh(W h[:, 0] + b): the [CLS] summary used by ITM and classification heads."""

    def __init__(self, hidden_size: int):
        super().__init__()
        self.dense = nn.Linear(hidden_size, hidden_size)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.dense(hidden[:, 0]))  # (B, H)
