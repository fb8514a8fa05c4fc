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

import logging
from functools import partial

import torch

from vlkit.config import RunConfig
from vlkit.data.collate.vlp import collate_vlp
from vlkit.data.datasets import ImageCaptionDataset, PairDataset
from vlkit.data.loader import BatchLoader
from vlkit.data.masking import MlmMasker
from vlkit.data.vlp import VlpTransform
from vlkit.metrics.cider import CiderD
from vlkit.models.io import save_model
from vlkit.models.zoo import build_model
from vlkit.objectives.scst import ScstObjective
from vlkit.objectives.vlp import VlpObjective
from vlkit.recipes import common
from vlkit.recipes.caption_eval import (
    CaptionOptions,
    beam_config,
    caption_cider,
    caption_images,
    caption_loader,
    evaluate_split,
    special_ids,
)
from vlkit.recipes.init import initialise
from vlkit.recipes.loaders import batch_sampler
from vlkit.recipes.options import task_options
from vlkit.text.tokenizer import get_tokenizer
from vlkit.train.trainer import train
from vlkit.utils.errors import ConfigError

log = logging.getLogger(__name__)


def caption_pairs(cfg: RunConfig, names: list[str], img_stores, limit: int = 0) -> PairDataset:
    store = common.open_text_store(cfg, names)
    if getattr(store, "task", "caption") != "caption":
        raise ConfigError(f"text store {store.path} holds task '{store.task}', expected caption")
    ids = store.ids()[:limit] if limit else None
    return PairDataset(store, img_stores, cfg.data.max_txt_len, ids=ids)


def vlp_transform(cfg: RunConfig, opts: CaptionOptions) -> VlpTransform:
    """Maskers of the two modes: seq2seq may mask the final [SEP], bidirectional may not.
    Content words (`data.focus_words`, else the dataset manifest's) weigh `data.focus_weight`."""
    tok = get_tokenizer(cfg.text.vocab, cfg.text.lowercase)
    vocab = tok.random_range
    words = cfg.data.focus_words or common.dataset_manifest(cfg).get("content_words", [])
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
    if not cfg.data.train_txt or not cfg.data.val_txt:
        raise ConfigError("captioning needs data.train_txt and data.val_txt (caption stores)")
    if cfg.model.arch != "vlp":
        raise ConfigError(f"the caption recipe needs a VLP model (model.arch=vlp), got "
                          f"'{cfg.model.arch}'")
    opts = task_options(cfg, CaptionOptions)
    ctx = common.setup_run(cfg)
    img_stores = common.open_image_stores(cfg, cfg.data.train_img)
    common.check_dims(cfg, img_stores[0], None)
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

    last = train(model, objective, batches, cfg.train, ctx.run_dir, ctx.device, ctx.dist,
                 evaluate)
    results: dict = {"train": last, "num_train_captions": len(train_pairs)}
    if ctx.dist.is_main:
        model.eval()
        splits = {"val": ImageCaptionDataset(caption_pairs(cfg, cfg.data.val_txt, img_stores))}
        if cfg.data.test_txt:
            splits["test"] = ImageCaptionDataset(caption_pairs(cfg, cfg.data.test_txt,
                                                               img_stores))
        for split, dataset in splits.items():
            results[split] = evaluate_split(model, cfg, opts, dataset, split, ctx.run_dir,
                                            ctx.device)
        save_model(model, ctx.run_dir / "model", cfg.model, cfg, overwrite=True)
    common.write_results(ctx, results)
    return results
