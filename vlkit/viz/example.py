"""One image-text example from stores, and the attention maps a UNITER or VL-BERT checkpoint
gives it.

    example = load_example(img_store="W/img", img_id="img00042", text="a red circle")
    example = load_example(img_store="W/img", txt_store="W/txt/caption_val", record_id="c17")
    attentions = example_attentions(model, example)   # num_layers x (heads, L, L)

UNITER's sequence is [CLS] text [SEP] then the image's regions, L = Lt + Nr, no padding.
VL-BERT's is [CLS] text [SEP] [IMG] (the whole image) r0 .. [END], L = Lt + Nr + 2: its visual
block holds the whole-image token, the regions and [END] (`sequence_labels`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from vlkit.data.collate import collate_inputs
from vlkit.data.examples import PairExample
from vlkit.data.stores.open import IMAGE_STORES, TEXT_STORES, open_store
from vlkit.text.tokenizer import get_tokenizer
from vlkit.utils.errors import ConfigError, DataError


@dataclass
class VizExample:
    """What the renderer needs: the model's inputs and a label for every position.

    img_id: the image; input_ids (Lt,) with [CLS]/[SEP]; img_feat (Nr, D); boxes (Nr, 7)
    normalised [x1, y1, x2, y2, w, h, w*h]; tokens: Lt WordPiece strings; title: what the
    example is.
    """

    img_id: str
    input_ids: torch.Tensor
    img_feat: np.ndarray
    boxes: np.ndarray
    tokens: list[str]
    title: str

    @property
    def txt_len(self) -> int:
        return int(self.input_ids.shape[0])

    @property
    def num_regions(self) -> int:
        return int(self.boxes.shape[0])

    @property
    def region_labels(self) -> list[str]:
        return [f"r{k}" for k in range(self.num_regions)]


def _open(path: str | Path, kinds: tuple, what: str):
    store = open_store(path)
    if not isinstance(store, kinds):
        raise DataError(f"{path}: expected {what} store, got a {type(store).__name__}")
    return store


def load_example(img_store: str | Path, img_id: str | None = None, text: str | None = None,
                 txt_store: str | Path | None = None, record_id: str | None = None,
                 vocab: str = "bert-base-uncased", max_txt_len: int = 60,
                 max_regions: int = 100) -> VizExample:
    """The example named either by (img_id, text) or by a text store record (its img_id,
    unless `img_id` overrides it). Text is tokenised with `vocab` (a text store's own vocab
    wins)."""
    images = _open(img_store, IMAGE_STORES, "an image")
    if txt_store is not None:
        texts = _open(txt_store, TEXT_STORES, "a text")
        if record_id is None or record_id not in texts:
            raise DataError(f"{txt_store}: no record '{record_id}' (pass --record with an id "
                            "that `vlkit data inspect` lists)")
        rec = texts.get(record_id)
        vocab = getattr(texts, "manifest", {}).get("vocab", vocab)
        ids, img_id = list(rec["input_ids"]), img_id or rec.get("img_id")
        title = f"{record_id}: {get_tokenizer(vocab).decode(ids)}"
    elif text is not None:
        ids, title = get_tokenizer(vocab).encode(text), text
    else:
        raise ConfigError("give the text: --text STRING, or --txt-store PATH --record ID")
    if not img_id or img_id not in images:
        raise DataError(f"{img_store}: no image '{img_id}'")
    tok = get_tokenizer(vocab)
    ids = [tok.cls_id, *ids[:max_txt_len - 2], tok.sep_id]
    img = images.get(img_id)
    n = min(img.num_boxes, max_regions)
    return VizExample(img_id=img_id, input_ids=torch.tensor(ids, dtype=torch.long),
                      img_feat=np.asarray(img.feat[:n], dtype=np.float32),
                      boxes=np.asarray(img.boxes[:n], dtype=np.float32),
                      tokens=tok.convert_ids_to_tokens(ids), title=f"{img_id} | {title}")


ARCHS = ("uniter", "vlbert")  # layouts viz attention knows how to label


def _arch(model: nn.Module) -> str:
    arch = getattr(getattr(model, "cfg", None), "arch", "uniter")
    if arch not in ARCHS:
        raise ConfigError(f"viz attention reads {' and '.join(ARCHS)} checkpoints; this one is "
                          f"'{arch}'")
    return arch


def sequence_labels(model: nn.Module, example: VizExample) -> tuple[list[str], int]:
    """A label for every position of the model's sequence, and the size of its visual block
    (what follows the text): UNITER's regions r0.., or VL-BERT's [IMG] r0 .. [END]."""
    if _arch(model) == "vlbert":
        return [*example.tokens, "[IMG]", *example.region_labels, "[END]"], \
            example.num_regions + 2
    return example.tokens + example.region_labels, example.num_regions


@torch.no_grad()
def example_attentions(model: nn.Module, example: VizExample) -> list[torch.Tensor]:
    """Every layer's attention probabilities for the example: num_layers x (heads, L, L)."""
    _arch(model)
    vocab_size = model.cfg.vocab_size
    if int(example.input_ids.max()) >= vocab_size:
        raise ConfigError(f"token id {int(example.input_ids.max())} is outside the model's "
                          f"vocabulary ({vocab_size}): pass the checkpoint's --vocab")
    if example.img_feat.shape[1] != model.cfg.img_dim:
        raise DataError(f"region features have {example.img_feat.shape[1]} dims, the model "
                        f"expects {model.cfg.img_dim}")
    inputs = collate_inputs([PairExample(id=example.img_id, img_id=example.img_id,
                                         input_ids=example.input_ids,
                                         img_feat=example.img_feat,
                                         img_pos_feat=example.boxes)])
    out = model.eval()(inputs, output_attentions=True)
    return [a[0].float() for a in out.attentions]
