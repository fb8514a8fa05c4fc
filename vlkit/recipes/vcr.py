"""VCR fine-tuning as UNITER does it: Q->A and QA->R as 4-way choices, each choice a row.

    vlkit train uniter-tiny-vcr data.root=runs/synth [train.init_from=runs/vcr-pretrain]

Training mixes the Q->A examples and the QA->R examples (gold answer in the text) of
`data.train_txt`; every (question, choice) row is scored 2-way by `vcr_output` on the pooled
output and trained with cross-entropy (vlkit/objectives/vcr.py). Token types grow to 4
(vlkit/runs/vcr_model.py). Validation reports Q->A, QA->R (rationale chosen given the gold
answer) and Q->AR. At the end every split is scored with the rationales conditioned on each
of the four answers and written as the VCR leaderboard csv to RUN/predictions/vcr_<split>.csv
(probabilities: softmax of the four choices' scores, vlkit.evaluation.vcr); `vlkit score vcr`
reads it.
VL-BERT models (`model.arch: vlbert`, `vlbert-*-vcr`) use the same data, evaluation and
outputs with VL-BERT's inputs and head (`vcr_task`, vlkit.objectives.vlbert_vcr): text
tokens carry their tagged region's feature, `final_mlp` scores the pooled [CLS] state.
"""

from __future__ import annotations

import torch

from vlkit.config import RunConfig
from vlkit.data.datasets.vcr import VcrDataset, VcrEvalDataset
from vlkit.evaluation.finish import Training, task_splits, train_and_finish
from vlkit.evaluation.vcr import VcrOptions, predict, vcr_loader, vcr_store, vcr_task
from vlkit.runs.context import setup_run
from vlkit.runs.options import task_options
from vlkit.runs.stores import check_dims, open_image_stores
from vlkit.runs.vcr_model import build_vcr_model
from vlkit.utils.errors import ConfigError


def main(cfg: RunConfig) -> dict:
    """Fine-tune VCR (Q->A and QA->R rows mixed), validate on data.val_txt, score every split."""
    if not cfg.data.train_txt or not cfg.data.val_txt:
        raise ConfigError("VCR needs data.train_txt and data.val_txt (vcr text stores)")
    opts = task_options(cfg, VcrOptions)
    ctx = setup_run(cfg)
    img_stores = open_image_stores(cfg, cfg.data.train_img)
    check_dims(cfg, img_stores[0], None)
    train_store = vcr_store(cfg, cfg.data.train_txt)
    ids = train_store.ids()[:cfg.data.train_limit] if cfg.data.train_limit else None
    train_set = VcrDataset(train_store, img_stores, cfg.data.max_txt_len, ids=ids)
    val_store = vcr_store(cfg, cfg.data.val_txt)
    val_set = VcrEvalDataset(val_store, img_stores, cfg.data.max_txt_len, conditioned="gold")
    batches = vcr_loader(cfg, train_set, ctx.dist)
    model = build_vcr_model(cfg, heads=("vcr",))

    def evaluate(m: torch.nn.Module) -> dict[str, float]:
        scored = predict(m, cfg, val_set, ctx.device, opts.eval_batch_size)
        return {f"vcr_{k}": scored[k] for k in ("q2a", "qa2r", "q2ar")}

    objective = vcr_task(cfg).objective
    return train_and_finish(model, cfg, ctx, Training(objective, batches, evaluate),
                            {"num_train_examples": len(train_set)}, task_splits(cfg, ctx, "vcr"))
