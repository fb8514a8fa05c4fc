"""Task heads applied by callers to encoder outputs (UNITER's names and tying).

- `MlmHead` (`cls.predictions.*`): transform (dense, gelu, LayerNorm) then a decoder whose
  weight IS the word embedding matrix (V, H), plus its own bias (V,).   (N, H) -> (N, V)
- `RegionFeatureRegression` (`feat_regress.*`): net (dense, gelu, LayerNorm) then
  F.linear(h, img_linear.weight.T, bias): the weight is the image embedder's (H, D) matrix
  used transposed.   (N, H) -> (N, D)
- `RegionClassifier` (`region_classifier.net.*`): dense, gelu, LayerNorm, dense. (N, H) -> (N, C)
- `itm_output`: nn.Linear(H, 2) on the pooled output.
- `vqa_head` (`vqa_output.*`): Linear(H, 2H), gelu, LayerNorm(2H), Linear(2H, num_answers).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vlkit.modules import ACTIVATIONS, GELU


class PredictionTransform(nn.Module):
    """dense -> activation -> LayerNorm (BERT's `transform`)."""

    def __init__(self, hidden_size: int, act: str, eps: float):
        super().__init__()
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.act = ACTIVATIONS[act]
        self.LayerNorm = nn.LayerNorm(hidden_size, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.act(self.dense(x)))


class LMPrediction(nn.Module):
    """transform, then logits with the tied decoder and an output-only bias."""

    def __init__(self, word_embeddings: nn.Parameter, act: str, eps: float):
        super().__init__()
        vocab, hidden = word_embeddings.shape
        self.transform = PredictionTransform(hidden, act, eps)
        self.decoder = nn.Linear(hidden, vocab, bias=False)
        self.decoder.weight = word_embeddings  # tied: one Parameter, two names
        self.bias = nn.Parameter(torch.zeros(vocab))

    def forward(self, hidden: torch.Tensor, vocab_ids: torch.Tensor | None = None
                ) -> torch.Tensor:
        """(N, H) -> (N, V) logits; with `vocab_ids` (K,), only those K columns (N, K)."""
        hidden = self.transform(hidden)
        if vocab_ids is None:
            return self.decoder(hidden) + self.bias
        return hidden @ self.decoder.weight[vocab_ids].t() + self.bias[vocab_ids]


class MlmHead(nn.Module):
    """Masked language modelling head: `cls.predictions` of BERT/UNITER. (N, H) -> (N, V)."""

    def __init__(self, word_embeddings: nn.Parameter, act: str = "gelu", eps: float = 1e-12):
        super().__init__()
        self.predictions = LMPrediction(word_embeddings, act, eps)

    def forward(self, hidden: torch.Tensor, vocab_ids: torch.Tensor | None = None
                ) -> torch.Tensor:
        return self.predictions(hidden, vocab_ids)


def _mlp(hidden_size: int, out_size: int | None, eps: float, width: int | None = None
         ) -> nn.Sequential:
    """Linear(H, W) -> GELU -> LayerNorm(W) [-> Linear(W, out)]; indices match UNITER's names."""
    width = width or hidden_size
    layers = [nn.Linear(hidden_size, width), GELU(), nn.LayerNorm(width, eps=eps)]
    if out_size is not None:
        layers.append(nn.Linear(width, out_size))
    return nn.Sequential(*layers)


class RegionFeatureRegression(nn.Module):
    """MRFR head: regress masked regions' input features. (N, H) -> (N, D)."""

    def __init__(self, img_linear_weight: nn.Parameter, eps: float = 1e-12):
        super().__init__()
        hidden, feat_dim = img_linear_weight.shape
        self.net = _mlp(hidden, None, eps)
        self.weight = img_linear_weight  # tied to uniter.img_embeddings.img_linear.weight (H, D)
        self.bias = nn.Parameter(torch.zeros(feat_dim))

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return F.linear(self.net(hidden), self.weight.t(), self.bias)


class RegionClassifier(nn.Module):
    """MRC head: detector class logits of masked regions. (N, H) -> (N, C)."""

    def __init__(self, hidden_size: int, label_dim: int, eps: float = 1e-12):
        super().__init__()
        self.net = _mlp(hidden_size, label_dim, eps)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.net(hidden)


def vqa_head(hidden_size: int, num_answers: int, eps: float = 1e-12) -> nn.Sequential:
    """UNITER's VQA classifier over the pooled output. (B, H) -> (B, num_answers)."""
    return _mlp(hidden_size, num_answers, eps, width=2 * hidden_size)


def named_head(model: nn.Module, modules: dict[str, str], name: str) -> nn.Module:
    """The submodule behind head `name` of a model whose family maps head names to attribute
    paths in `modules` (e.g. "vqa" -> "vqa_output" in UNITER, "final_mlp" in VL-BERT)."""
    if name not in modules:
        raise KeyError(f"{type(model).__name__} has no head named '{name}'; its family's heads "
                       f"are {sorted(modules)}")
    if name not in model.heads:
        raise KeyError(f"this {type(model).__name__} was built without the '{name}' head "
                       f"(built with {list(model.heads)})")
    return model.get_submodule(modules[name])
