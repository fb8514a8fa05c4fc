"""Token packing: the encoder over real positions only equals the padded computation."""

from __future__ import annotations

import pytest
import torch

from vlkit.encoder_input import EncoderInput
from vlkit.models.config import ModelConfig
from vlkit.models.uniter import Uniter
from vlkit.modules import TokenPacking

CFG = dict(hidden_size=32, num_layers=2, num_heads=4, intermediate_size=64, vocab_size=60,
           max_position_embeddings=16, img_dim=12, hidden_dropout=0.0, attention_dropout=0.0)


def test_pack_and_unpack_follow_the_mask():
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]])
    x = torch.arange(12.0).view(2, 3, 2)
    packing = TokenPacking(mask)
    assert packing.index.numel() == 3
    torch.testing.assert_close(packing.pack(x), torch.tensor([[0.0, 1], [2, 3], [6, 7]]))
    back = packing.unpack(packing.pack(x))
    torch.testing.assert_close(back, torch.tensor([[[0.0, 1], [2, 3], [0, 0]],
                                                   [[6, 7], [0, 0], [0, 0]]]))


def test_nothing_to_pack_without_padding_or_with_a_full_mask():
    assert TokenPacking.of(torch.ones(2, 4, dtype=torch.long)) is None
    assert TokenPacking.of(torch.ones(2, 4, 4, dtype=torch.long)) is None
    with pytest.raises(ValueError, match="padding mask"):
        TokenPacking(torch.ones(2, 4, 4))


def _batch() -> dict[str, torch.Tensor]:
    """Three pairs: text lengths 5, 3, 4 (+ [PAD]) and 4, 2, 3 regions, compact layout."""
    gen = torch.Generator().manual_seed(1)
    txt_lens, num_bbs = torch.tensor([5, 3, 4]), torch.tensor([4, 2, 3])
    lt, nr = 5, 4
    joint = int((txt_lens + num_bbs).max())
    ids = torch.randint(1, 60, (3, lt), generator=gen) * (torch.arange(lt) < txt_lens[:, None])
    pos = torch.arange(joint)[None]
    # compact: text i then region i, then padding (pointing at the last slot)
    gather = torch.where(pos < txt_lens[:, None], pos, pos - txt_lens[:, None] + lt)
    gather = gather.clamp(max=lt + nr - 1)
    return dict(input_ids=ids, position_ids=torch.arange(lt)[None],
                img_feat=torch.randn(3, nr, 12, generator=gen),
                img_pos_feat=torch.rand(3, nr, 7, generator=gen),
                attn_masks=(pos < (txt_lens + num_bbs)[:, None]).long(), gather_index=gather)


@pytest.mark.parametrize("checkpointing", [False, True])
def test_packed_encoder_equals_padded_with_gradients(checkpointing):
    torch.manual_seed(0)
    padded = Uniter(ModelConfig(**CFG, pack_tokens=False), heads=("mlm", "itm")).train()
    packed = Uniter(ModelConfig(**CFG, activation_checkpointing=checkpointing),
                    heads=("mlm", "itm")).train()
    packed.load_state_dict(padded.state_dict())
    batch = _batch()
    real = batch["attn_masks"].bool()
    assert not real.all()
    outs, grads = [], []
    for model in (padded, packed):
        out = model(EncoderInput(**batch))
        # a loss that reads every real position (and the pooled [CLS]), none of the padding
        loss = (model.cls(out.sequence[real]).logsumexp(-1).sum()
                + model.itm_output(out.pooled).square().sum())
        loss.backward()
        outs.append(out)
        grads.append({n: p.grad.clone() for n, p in model.named_parameters()
                      if p.grad is not None})
    torch.testing.assert_close(outs[1].sequence[real], outs[0].sequence[real],
                               atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(outs[1].pooled, outs[0].pooled, atol=1e-5, rtol=1e-5)
    assert not outs[1].sequence[~real].any()  # padding positions are zeros when packed
    assert grads[0].keys() == grads[1].keys() and len(grads[0]) > 20
    for name, grad in grads[0].items():
        torch.testing.assert_close(grads[1][name], grad, atol=1e-5, rtol=1e-5, msg=name)


def test_all_layers_are_unpacked_when_asked():
    torch.manual_seed(0)
    padded = Uniter(ModelConfig(**CFG, pack_tokens=False), heads=()).eval()
    packed = Uniter(ModelConfig(**CFG), heads=()).eval()
    packed.load_state_dict(padded.state_dict())
    batch = _batch()
    real = batch["attn_masks"].bool()
    want = padded(EncoderInput(**batch), output_all_layers=True).all_layers
    got = packed(EncoderInput(**batch), output_all_layers=True).all_layers
    assert len(got) == len(want) == 2
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a[real], b[real], atol=1e-5, rtol=1e-5)


def _grads(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def test_vlp_block_masks_pack_to_the_padded_result():
    """VLP's (B, L, L) seq2seq and bidirectional masks: packed == padded, with gradients."""
    from vlkit.data.vlp import BI, S2S, vlp_masks
    from vlkit.models.vlp import Vlp

    torch.manual_seed(0)
    cfg = dict(CFG, arch="vlp", img_label_dim=5, type_vocab_size=4)
    padded = Vlp(ModelConfig(**cfg, pack_tokens=False)).train()
    packed = Vlp(ModelConfig(**cfg)).train()
    packed.load_state_dict(padded.state_dict())
    batch = _batch()
    batch["img_pos_feat"] = torch.rand(3, 4, 6 + 5)  # VLP: box6 ++ class probabilities
    txt_lens, num_bbs = torch.tensor([5, 3, 4]), torch.tensor([4, 2, 3])
    batch["attn_masks"] = vlp_masks(torch.tensor([S2S, BI, S2S]), txt_lens, num_bbs,
                                    batch["gather_index"].shape[1])
    assert TokenPacking.of(batch["attn_masks"]) is not None
    real = batch["attn_masks"].diagonal(dim1=1, dim2=2).bool()
    outs, grads = [], []
    for model in (padded, packed):
        out = model(EncoderInput(**batch))
        model.cls(out.sequence[real]).logsumexp(-1).sum().backward()
        outs.append(out.sequence)
        grads.append(_grads(model))
    torch.testing.assert_close(outs[1][real], outs[0][real], atol=1e-5, rtol=1e-5)
    assert not outs[1][~real].any()
    assert grads[0].keys() == grads[1].keys() and len(grads[0]) > 20
    for name, grad in grads[0].items():
        torch.testing.assert_close(grads[1][name], grad, atol=1e-5, rtol=1e-5, msg=name)


def test_vlbert_packs_to_the_padded_result():
    from vlkit.models.vlbert import VlBert

    torch.manual_seed(0)
    cfg = dict(CFG, arch="vlbert", img_dim=12, type_vocab_size=3)
    padded = VlBert(ModelConfig(**cfg, pack_tokens=False), heads=("mlm",)).train()
    packed = VlBert(ModelConfig(**cfg), heads=("mlm",)).train()
    packed.load_state_dict(padded.state_dict())
    gen = torch.Generator().manual_seed(2)
    txt_lens, num_bbs = torch.tensor([5, 3, 4]), torch.tensor([4, 2, 3])
    ids = torch.randint(1, 60, (3, 5), generator=gen) * (torch.arange(5) < txt_lens[:, None])
    batch = dict(input_ids=ids, txt_lens=txt_lens, img_feat=torch.randn(3, 4, 12, generator=gen),
                 img_pos_feat=torch.rand(3, 4, 7, generator=gen), num_bbs=num_bbs)
    outs, grads = [], []
    for model in (padded, packed):
        out = model(EncoderInput(**batch))
        (out.sequence.square().sum(-1) * _vlbert_real(out.sequence)).sum().backward()
        outs.append(out)
        grads.append(_grads(model))
    real = _vlbert_real(outs[1].sequence).bool()
    assert not real.all()
    torch.testing.assert_close(outs[1].sequence[real], outs[0].sequence[real], atol=1e-5,
                               rtol=1e-5)
    torch.testing.assert_close(outs[1].pooled, outs[0].pooled, atol=1e-5, rtol=1e-5)
    assert grads[0].keys() == grads[1].keys() and len(grads[0]) > 20
    for name, grad in grads[0].items():
        torch.testing.assert_close(grads[1][name], grad, atol=1e-5, rtol=1e-5, msg=name)


def _vlbert_real(sequence: torch.Tensor) -> torch.Tensor:
    """(B, L) 1 at VL-BERT's real positions: [CLS] text [SEP] [IMG]+regions [END] for the
    lengths of `test_vlbert_packs_to_the_padded_result` (text 5/3/4, regions 4/2/3)."""
    lengths = torch.tensor([5, 3, 4]) + 1 + torch.tensor([4, 2, 3]) + 1
    return (torch.arange(sequence.shape[1])[None] < lengths[:, None]).float()


def _last_layer_rows(model: torch.nn.Module, layers: torch.nn.ModuleList) -> list[int]:
    """Records how many rows the last layer's query projection and feed-forward receive on
    each call."""
    seen = []
    for module in (layers[-1].attention.self.query, layers[-1].intermediate.dense):
        module.register_forward_hook(lambda module, args, out: seen.append(args[0].shape[0]))
    return seen


NEEDED = {"text and regions": ([0, 0, 0, 1, 1, 2, 2], [1, 3, 6, 0, 4, 2, 8]),
          "one sequence only": ([1, 1], [2, 4])}


@pytest.mark.parametrize("pack_tokens,checkpointing,needed_at",
                         [(True, False, "text and regions"), (False, False, "text and regions"),
                          (True, True, "text and regions"), (True, False, "one sequence only")])
def test_needed_positions_equal_the_full_last_layer_with_gradients(pack_tokens, checkpointing,
                                                                   needed_at):
    """`needed`: in the last layer only the positions a loss reads (MLM's masked words,
    MRM's masked regions) query and are projected; outputs and every gradient equal the full
    computation's there."""
    torch.manual_seed(0)
    cfg = ModelConfig(**CFG, pack_tokens=pack_tokens, activation_checkpointing=checkpointing)
    full, part = (Uniter(cfg, heads=("mlm",)).train() for _ in range(2))
    part.load_state_dict(full.state_dict())
    batch = _batch()
    real = batch["attn_masks"].bool()
    needed = torch.zeros_like(real)
    needed[NEEDED[needed_at]] = True
    needed[1, 7] = True  # a padding position: ignored
    rows = _last_layer_rows(part, part.uniter.encoder.layer)
    outs, grads = [], []
    for model, wanted in ((full, None), (part, needed)):
        out = model(EncoderInput(**batch), needed=wanted)
        model.cls(out.sequence[needed & real]).logsumexp(-1).sum().backward()
        outs.append(out.sequence)
        grads.append(_grads(model))
    assert set(rows) == {int((needed & real).sum())}  # twice when checkpointing
    torch.testing.assert_close(outs[1][needed & real], outs[0][needed & real], atol=1e-5,
                               rtol=1e-5)
    assert not outs[1][~(needed & real)].any()
    assert grads[0].keys() == grads[1].keys() and len(grads[0]) > 20
    for name, grad in grads[0].items():
        torch.testing.assert_close(grads[1][name], grad, atol=1e-5, rtol=1e-5, msg=name)


def test_needed_positions_under_vlp_block_masks_and_refused_with_all_layers():
    from vlkit.data.vlp import BI, S2S, vlp_masks
    from vlkit.models.vlp import Vlp

    torch.manual_seed(0)
    cfg = ModelConfig(**dict(CFG, arch="vlp", img_label_dim=5, type_vocab_size=4))
    full, part = Vlp(cfg).eval(), Vlp(cfg).eval()
    part.load_state_dict(full.state_dict())
    batch = _batch()
    batch["img_pos_feat"] = torch.rand(3, 4, 6 + 5)
    batch["attn_masks"] = vlp_masks(torch.tensor([S2S, BI, S2S]), torch.tensor([5, 3, 4]),
                                    torch.tensor([4, 2, 3]), batch["gather_index"].shape[1])
    needed = torch.zeros(3, batch["gather_index"].shape[1], dtype=torch.bool)
    needed[:, 1] = needed[0, 4] = True
    rows = _last_layer_rows(part, part.bert.encoder.layer)
    want = full(EncoderInput(**batch)).sequence[needed]
    got = part(EncoderInput(**batch), needed=needed).sequence
    assert rows == [4, 4]  # the query projection and the feed-forward
    torch.testing.assert_close(got[needed], want, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="needed"):
        part(EncoderInput(**batch), needed=needed, output_all_layers=True)
    with pytest.raises(ValueError, match=r"\(B, L\) = \(3, 9\).*got \(3, 5\)"):
        part(EncoderInput(**batch), needed=needed[:, :5])  # the text slots only: wrong width
