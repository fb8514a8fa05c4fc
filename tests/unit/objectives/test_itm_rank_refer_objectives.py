"""Hard-negative selection, row re-padding, region extraction and the two objectives."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vlkit.data.batch import RankBatch
from vlkit.data.collate import collate_inputs, collate_re
from vlkit.data.examples import PairExample, ReExample
from vlkit.losses.finetune import rank_loss
from vlkit.models.config import ModelConfig
from vlkit.models.uniter import Uniter
from vlkit.objectives.itm_rank import ItmRankObjective, hardest_rows, rank_scores, select_pairs
from vlkit.objectives.refer import PAD_SCORE, ReObjective, region_hidden, region_scores

CFG = ModelConfig(hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32,
                  vocab_size=50, img_dim=6, hidden_dropout=0.0, attention_dropout=0.0,
                  max_position_embeddings=32)


def _examples(n: int, seed: int = 0) -> list[PairExample]:
    gen = torch.Generator().manual_seed(seed)
    out = []
    for k in range(n):
        tl, nbb = 3 + (k * 5) % 4, 1 + (k * 3) % 5
        out.append(PairExample(id=f"e{k}", img_id=f"img{k}",
                               input_ids=torch.randint(3, 50, (tl,), generator=gen),
                               img_feat=torch.randn(nbb, 6, generator=gen),
                               img_pos_feat=torch.rand(nbb, 7, generator=gen)))
    return out


def test_select_pairs_equals_collating_the_selected_examples():
    examples = _examples(7)
    rows = [5, 0, 3]
    picked = select_pairs(collate_inputs(examples), torch.tensor(rows))
    direct = collate_inputs([examples[r] for r in rows])
    for name in ("input_ids", "img_feat", "img_pos_feat", "attn_masks", "gather_index",
                 "txt_lens", "num_bbs"):
        assert torch.equal(getattr(picked, name), getattr(direct, name)), name


def _rank_batch(groups: int, n_img: int, n_txt: int) -> RankBatch:
    inputs = collate_inputs(_examples(groups * (1 + n_img + n_txt)))
    return RankBatch(inputs=inputs, sample_size=1 + n_img + n_txt, num_img_neg=n_img,
                     num_txt_neg=n_txt)


def test_hardest_rows_keep_the_positive_and_the_top_negatives_of_each_kind():
    batch = _rank_batch(2, 3, 2)  # groups of 6: [pos, i1, i2, i3, t1, t2]
    scores = torch.tensor([0.0, 5, 1, 3, -1, 2,
                           9.0, 0, 8, 7, 4, 6])
    rows = hardest_rows(scores, batch, hard_size=2)
    groups = rows.view(2, 5)
    assert groups[0, 0] == 0 and set(groups[0, 1:3].tolist()) == {1, 3}
    assert set(groups[0, 3:].tolist()) == {4, 5}
    assert groups[1, 0] == 6 and set(groups[1, 1:3].tolist()) == {8, 9}
    assert set(groups[1, 3:].tolist()) == {10, 11}


def test_hard_objective_with_every_negative_kept_is_the_two_means():
    torch.manual_seed(0)
    model = Uniter(CFG, heads=("rank",)).eval()
    batch = _rank_batch(3, 2, 2)
    with torch.no_grad():
        hard, _ = ItmRankObjective(0.2, hard_size=2)(model, batch)
        cells = rank_loss(rank_scores(model, batch.inputs).view(3, 5), 0.2)
        sampled, _ = ItmRankObjective(0.2)(model, batch)
    expected = (cells[:, :2].mean(1) + cells[:, 2:].mean(1)).mean()
    assert torch.allclose(hard, expected, atol=1e-6)
    assert torch.allclose(sampled, cells.mean(), atol=1e-6)
    assert not model.training  # mining restores the mode it found


def _re_examples() -> list[ReExample]:
    return [ReExample(pair=pair, re_target=k % len(pair.img_feat), target_box=[0.1, 0.1, 0.5, 0.5])
            for k, pair in enumerate(_examples(4, seed=1))]


def test_region_hidden_reads_each_rows_regions():
    batch = collate_re(_re_examples())
    seq = torch.randn(batch.size, batch.inputs.attn_masks.shape[1], 3)
    hidden = region_hidden(seq, batch.inputs.txt_lens, batch.region_pad.shape[1])
    for b in range(batch.size):
        tl, nbb = int(batch.inputs.txt_lens[b]), int(batch.inputs.num_bbs[b])
        assert torch.equal(hidden[b, :nbb], seq[b, tl:tl + nbb])


def test_re_objective_is_summed_cross_entropy_over_real_regions():
    torch.manual_seed(0)
    model = Uniter(CFG, heads=("re",)).eval()
    batch = collate_re(_re_examples())
    with torch.no_grad():
        loss, logs = ReObjective()(model, batch)
        scores = region_scores(model, batch)
    expected = 0.0
    for b in range(batch.size):
        nbb = int(batch.inputs.num_bbs[b])
        assert (scores[b, nbb:] == PAD_SCORE).all()
        expected += F.cross_entropy(scores[b, :nbb][None], batch.targets[b:b + 1]).item()
    assert abs(loss.item() - expected) < 1e-4
    assert abs(logs["re_loss"].item() - expected / batch.size) < 1e-5
