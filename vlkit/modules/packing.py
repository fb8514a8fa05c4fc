"""Token packing: run token-wise layers over the real positions of a padded batch only.

A padded batch (B, L, H) with a key-padding mask (B, L) holds N = mask.sum() real positions.
Every layer of a BERT block except attention itself (Q/K/V, output projections, feed-forward,
LayerNorm, dropout) acts on each position independently, so it can run on the packed (N, H)
rows instead of all B * L: at UNITER's pre-training lengths that skips ~10% of the matrix
products. Attention unpacks Q/K/V into the padded layout (zeros at padding, masked out by the
attention bias) and packs its output again. Outputs at padding positions come back as zeros.
All three families pack: UNITER and VLP through the shared encoder (VLP's block masks included),
VL-BERT in its own forward; cached decoding and attention maps keep the padded path.
"""

from __future__ import annotations

import torch


class TokenPacking:
    """Where the real positions of a (B, L) padding mask are; packs and unpacks along them.

        packing = TokenPacking(mask)      # mask (B, L): nonzero = real position
        rows = packing.pack(x)            # (B, L, *) -> (N, *), N real positions, row-major
        x0 = packing.unpack(rows)         # (N, *) -> (B, L, *), zeros at padding
    Both directions are differentiable (index_select / index_copy).
    """

    def __init__(self, mask: torch.Tensor):
        if mask.dim() != 2:
            raise ValueError(f"packing needs a (B, L) padding mask, got {tuple(mask.shape)}")
        self._locate(*mask.shape, mask.reshape(-1).nonzero().squeeze(1))

    def _locate(self, batch: int, length: int, index: torch.Tensor) -> None:
        self.batch, self.length = batch, length
        self.index = index  # (N,) into the flat B * L rows, ascending
        self._padding: torch.Tensor | None = None  # the other rows, found on first unpack

    @classmethod
    def of(cls, mask: torch.Tensor) -> TokenPacking | None:
        """A packing for an attention mask, or None when there is no padding to skip.

        mask: (B, L) padding mask, or a full (B, Lq, Lk) mask (VLP's seq2seq / bidirectional
        blocks), whose diagonal tells the real positions: every mask vlkit builds lets a real
        position see itself and a padding position not (vlkit.data.vlp). Attention still
        applies the full mask in the padded layout; only the token-wise layers are packed.
        """
        mask = _real_positions(mask)
        if mask.dim() != 2 or bool(mask.bool().all()):
            return None
        return cls(mask)

    @classmethod
    def real(cls, mask: torch.Tensor) -> TokenPacking:
        """The real positions of a (B, L) or (B, L, L) attention mask (see `of`), padding or
        not."""
        return cls(_real_positions(mask))

    def subset(self, wanted: torch.Tensor) -> tuple[torch.Tensor, TokenPacking]:
        """The packed rows (S,) at the positions `wanted` (B, L) marks (padding ignored), and
        the packing of just those positions, which unpacks (S, *) rows to (B, L, *)."""
        if tuple(wanted.shape) != (self.batch, self.length):
            raise ValueError(f"the needed positions must be a (B, L) = ({self.batch}, "
                             f"{self.length}) mask over the joint sequence, got "
                             f"{tuple(wanted.shape)}")
        rows = wanted.reshape(-1).index_select(0, self.index).nonzero().squeeze(1)
        sub = TokenPacking.__new__(TokenPacking)
        sub._locate(self.batch, self.length, self.index[rows])
        return rows, sub

    @property
    def padding(self) -> torch.Tensor:
        """(B * L - N,) the flat positions that are not real, ascending."""
        if self._padding is None:
            real = torch.zeros(self.batch * self.length, dtype=torch.bool,
                               device=self.index.device)
            self._padding = real.index_fill_(0, self.index, True).logical_not_().nonzero()[:, 0]
        return self._padding

    def pack(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L, *) -> (N, *): the real positions, row-major."""
        return x.reshape(self.batch * self.length, *x.shape[2:]).index_select(0, self.index)

    def unpack(self, rows: torch.Tensor) -> torch.Tensor:
        """(N, *) -> (B, L, *) with zeros at the padding positions."""
        # zeros written at the padding rows only, not under the rows index_copy_ overwrites
        flat = rows.new_empty(self.batch * self.length, *rows.shape[1:])
        flat.index_fill_(0, self.padding, 0).index_copy_(0, self.index, rows)
        return flat.view(self.batch, self.length, *rows.shape[1:])


def _real_positions(mask: torch.Tensor) -> torch.Tensor:
    """A (B, L) padding mask as it is; a full (B, L, L) mask -> its diagonal (B, L)."""
    return mask.diagonal(dim1=1, dim2=2) if mask.dim() == 3 else mask
