"""The reference UNITER code (github.com/ChenRocks/UNITER, commit 1dbfa62, the one the parity
fixture in ../shared/fixtures/uniter_parity was made with) as a peer of bench_pretrain.py.

It is loaded from a checkout the user names with `--reference-repo`; nothing of it is vendored:

    git clone https://github.com/ChenRocks/UNITER /tmp/UNITER
    python bench/bench_pretrain.py --models vlkit,reference --reference-repo /tmp/UNITER

Two patches at run time, the ones the parity fixture's manifest lists: apex's FusedLayerNorm is
torch.nn.LayerNorm (same parameters and eps; apex does not install here), and `model.ot.trace`
sums the diagonal instead of selecting it with a uint8 eye mask, which current torch refuses
(same maths). The step is UNITER's pretrain.py step: `UniterForPretraining(batch, task)`, the
loss reduced as pretrain.py reduces it (MLM: mean; ITM: mean cross-entropy + 0.1 x the OT
distance of positives minus negatives over the batch), backward, and UNITER's own AdamW over
pretrain.py's two parameter groups. Batches are built from the bench's examples the way
UNITER's collate functions build them (padding, gather_index, ot_scatter, pads as bool).
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import torch
from torch import nn

ITM_OT_LAMBDA = 0.1  # UNITER's pretrain config: itm_ot_lambda
NO_DECAY = ("bias", "LayerNorm.bias", "LayerNorm.weight")


def load_reference(repo: str | Path) -> types.SimpleNamespace:
    """Import UNITER's model and optimizer packages from the checkout `repo`."""
    repo = Path(repo)
    if not (repo / "model" / "pretrain.py").is_file():
        raise SystemExit(f"--reference-repo {repo}: not a checkout of github.com/ChenRocks/"
                         "UNITER (model/pretrain.py is missing)")
    fused = types.ModuleType("apex.normalization.fused_layer_norm")
    fused.FusedLayerNorm = nn.LayerNorm
    for name in ("apex", "apex.normalization"):
        sys.modules.setdefault(name, types.ModuleType(name))
    sys.modules["apex.normalization.fused_layer_norm"] = fused
    sys.path.insert(0, str(repo))
    from model import ot
    from model.model import UniterConfig
    from model.pretrain import UniterForPretraining
    from optim.adamw import AdamW

    ot.trace = lambda x: x.diagonal(dim1=1, dim2=2).sum(-1)
    return types.SimpleNamespace(config=UniterConfig, model=UniterForPretraining, adamw=AdamW)


def reference_batch(examples: list, task: str, device: torch.device) -> dict:
    """UNITER's mlm_collate / itm_ot_collate output for the bench's MlmExample / ItmExample
    list (text first, then the regions, per example)."""
    pairs = [ex.pair for ex in examples]
    txt_lens = [len(p.input_ids) for p in pairs]
    num_bbs = [len(p.img_feat) for p in pairs]
    max_tl, max_bb = max(txt_lens), max(num_bbs)
    joint = [t + n for t, n in zip(txt_lens, num_bbs, strict=True)]
    out_len = max(joint)
    batch_size = len(pairs)
    input_ids = torch.zeros(batch_size, max_tl, dtype=torch.long)
    img_feat = torch.zeros(batch_size, max_bb, pairs[0].img_feat.shape[1])
    img_pos_feat = torch.zeros(batch_size, max_bb, pairs[0].img_pos_feat.shape[1])
    attn_masks = torch.zeros(batch_size, out_len, dtype=torch.long)
    gather_index = torch.arange(out_len).unsqueeze(0).repeat(batch_size, 1)
    for i, (p, tl, nb) in enumerate(zip(pairs, txt_lens, num_bbs, strict=True)):
        input_ids[i, :tl] = p.input_ids
        img_feat[i, :nb] = p.img_feat.float()
        img_pos_feat[i, :nb] = p.img_pos_feat
        attn_masks[i, :tl + nb] = 1
        gather_index[i, tl:tl + nb] = torch.arange(max_tl, max_tl + nb)
    batch = {"input_ids": input_ids, "position_ids": torch.arange(max_tl).unsqueeze(0),
             "img_feat": img_feat, "img_pos_feat": img_pos_feat, "attn_masks": attn_masks,
             "gather_index": gather_index}
    if task == "mlm":
        labels = torch.full((batch_size, max_tl), -1, dtype=torch.long)
        for i, ex in enumerate(examples):
            labels[i, :txt_lens[i]] = ex.txt_labels
        batch["txt_labels"] = labels
    else:
        batch["targets"] = torch.tensor([ex.itm_target for ex in examples])
        batch["ot_inputs"] = _ot_inputs(txt_lens, num_bbs, max_tl, max_bb, out_len, device)
    return {k: v.to(device) if torch.is_tensor(v) else v for k, v in batch.items()}


def _ot_inputs(txt_lens: list[int], num_bbs: list[int], max_tl: int, max_bb: int,
               joint_len: int, device: torch.device) -> dict:
    """Where each position of the joint output lands in [text | regions] (ot_scatter) and the
    text / region padding (True = padding)."""
    scatter = torch.arange(joint_len).unsqueeze(0).repeat(len(txt_lens), 1)
    for i, tl in enumerate(txt_lens):
        scatter[i, tl:] = torch.arange(max_tl, max_tl + joint_len - tl)
    txt_pad = torch.arange(max_tl)[None] >= torch.tensor(txt_lens)[:, None]
    img_pad = torch.arange(max_bb)[None] >= torch.tensor(num_bbs)[:, None]
    return {"ot_scatter": scatter.to(device), "scatter_max": int(scatter.max()),
            "txt_pad": txt_pad.to(device), "img_pad": img_pad.to(device)}


def reference_step_fn(repo: str | Path, dims: dict, vocab: int, feat_dim: int, labels: int,
                      examples: list, task: str, device: torch.device):
    """One UNITER pre-training step (loss as pretrain.py reduces it, backward, UNITER's AdamW
    step, zero_grad) on a fixed batch, as a closure."""
    ref = load_reference(repo)
    cfg = ref.config(vocab, hidden_size=dims["hidden_size"],
                     num_hidden_layers=dims["num_layers"],
                     num_attention_heads=dims["num_heads"],
                     intermediate_size=dims["intermediate_size"])
    model = ref.model(cfg, img_dim=feat_dim, img_label_dim=labels).to(device).train()
    named = list(model.named_parameters())
    groups = [{"params": [p for n, p in named if not any(nd in n for nd in NO_DECAY)],
               "weight_decay": 0.01},
              {"params": [p for n, p in named if any(nd in n for nd in NO_DECAY)],
               "weight_decay": 0.0}]
    optimizer = ref.adamw(groups, lr=1e-5, betas=(0.9, 0.98))
    batch = reference_batch(examples, task, device)

    def step() -> None:
        if task == "mlm":
            loss = model(batch, task="mlm").mean()
        else:
            itm, (ot_pos, ot_neg) = model(batch, task="itm")
            ot = (ot_pos.sum() - ot_neg.sum()) / (ot_pos.size(0) + ot_neg.size(0))
            loss = itm.mean() + ITM_OT_LAMBDA * ot
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return step
