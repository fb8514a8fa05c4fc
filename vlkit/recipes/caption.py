"""Captioning with Unified VLP: masked-token training under seq2seq / bidirectional masks,
greedy and beam-search decoding, CIDEr-D, and self-critical sequence training (SCST).

    vlkit train vlp-tiny-pretrain data.root=runs/synth                 # s2s 0.75 / bi 0.25
    vlkit train vlp-tiny-caption data.root=runs/synth train.init_from=runs/vlp-tiny-pretrain
    vlkit train vlp-tiny-scst data.root=runs/synth train.init_from=runs/vlp-tiny-caption

Training examples are caption records (one per caption); `task.s2s_prob` / `task.bi_prob`
pick each example's attention mask (vlkit.data.vlp). With `task.scst=true` the examples are
images with all their references and the objective is SCST (CIDEr-D reward on token ids,
greedy baseline). Validation decodes greedily and reports `cider`, the caption metric
(vlkit.metrics.cider.corpus_cider: CIDEr-D on COCO words, as `vlkit score caption`). At the
end the validation (and test) images are captioned greedily and by beam search; COCO results
files go to RUN/predictions/caption_<split>_<greedy|beam>.json and the pycocoevalcap scores to
final_metrics.json.
"""

from __future__ import annotations

from functools import partial

import torch

from vlkit.config import RunConfig
from vlkit.data.collate.vlp import collate_vlp
from vlkit.data.datasets import ImageCaptionDataset, PairDataset
from vlkit.data.loader import BatchLoader
from vlkit.data.masking import MlmMasker
from vlkit.data.vlp import VlpTransform
from vlkit.evaluation.caption import (
    CaptionOptions,
    beam_config,
    caption_cider,
    caption_images,
    caption_loader,
    caption_pairs,
    caption_scores,
    special_ids,
)
from vlkit.evaluation.finish import Training, train_and_finish
from vlkit.metrics.cider import CiderD
from vlkit.models.zoo import build_model, family
from vlkit.objectives.scst import ScstObjective
from vlkit.objectives.vlp import VlpObjective
from vlkit.runs.context import setup_run
from vlkit.runs.init import initialise
from vlkit.runs.loaders import batch_sampler
from vlkit.runs.options import task_options
from vlkit.runs.stores import check_dims, dataset_manifest, open_image_stores
from vlkit.text.tokenizer import get_tokenizer
from vlkit.utils.errors import ConfigError


def vlp_transform(cfg: RunConfig, opts: CaptionOptions) -> VlpTransform:
    """Maskers of the two modes: seq2seq may mask the final [SEP], bidirectional may not.
    Content words (`data.focus_words`, else the dataset manifest's) weigh `data.focus_weight`."""
    tok = get_tokenizer(cfg.text.vocab, cfg.text.lowercase)
    vocab = tok.random_range
    words = cfg.data.focus_words or dataset_manifest(cfg).get("content_words", [])
    focus = sorted({i for w in words for i in tok.encode(w)}) if words else None

    def masker(protected: tuple[int, ...]) -> MlmMasker:
        return MlmMasker(tok.mask_id, vocab, protected, mask_prob=cfg.data.mask_prob,
                         focus_ids=focus, focus_weight=cfg.data.focus_weight)

    return VlpTransform(masker((tok.pad_id, tok.cls_id)),
                        masker((tok.pad_id, tok.cls_id, tok.sep_id)), opts.s2s_prob,
                        opts.bi_prob)


def training_batches(cfg: RunConfig, opts: CaptionOptions, train_pairs: PairDataset, dist):
    """(batches, objective): masked-token prediction, or SCST over images."""
    if opts.scst:
        images = ImageCaptionDataset(train_pairs)
        cider = CiderD(images.references().values())
        batches = caption_loader(cfg, images, cfg.train.batch_size, shuffle=True,
                                 infinite=True, rank=dist.rank, world_size=dist.world_size)
        return batches, ScstObjective(cider, special_ids(cfg), opts.max_len, opts.scst_samples)
    batches = BatchLoader(train_pairs, batch_sampler(cfg, train_pairs, dist),
                          partial(collate_vlp, label_dim=cfg.model.img_label_dim),
                          transform=vlp_transform(cfg, opts), seed=cfg.train.seed,
                          infinite=True, num_workers=cfg.data.num_workers)
    return batches, VlpObjective()


def main(cfg: RunConfig) -> dict:
    """Train a VLP captioner (masked tokens or SCST), validate by CIDEr-D, caption every split."""
    if not cfg.data.train_txt or not cfg.data.val_txt:
        raise ConfigError("captioning needs data.train_txt and data.val_txt (caption stores)")
    if not family(cfg.model.arch).decodes:
        raise ConfigError(f"the caption recipe needs a model that decodes (model.arch=vlp), "
                          f"got '{cfg.model.arch}'")
    opts = task_options(cfg, CaptionOptions)
    ctx = setup_run(cfg)
    img_stores = open_image_stores(cfg, cfg.data.train_img)
    check_dims(cfg, img_stores[0], None)
    train_pairs = caption_pairs(cfg, cfg.data.train_txt, img_stores, cfg.data.train_limit)
    val_images = ImageCaptionDataset(caption_pairs(cfg, cfg.data.val_txt, img_stores),
                                     limit=opts.val_images)
    batches, objective = training_batches(cfg, opts, train_pairs, ctx.dist)

    model = build_model(cfg.model, heads=("mlm",))
    initialise(model, cfg)

    def evaluate(m: torch.nn.Module) -> dict[str, float]:
        captions = caption_images(m, cfg, val_images, beam_config(opts, 1), ctx.device,
                                  opts.eval_batch_size)
        return {"cider": caption_cider(captions, val_images, cfg)}

    return train_and_finish(model, cfg, ctx, Training(objective, batches, evaluate),
                            {"num_train_captions": len(train_pairs)},
                            caption_scores(cfg, opts, img_stores, ctx))
