"""Which vocabulary a run's token ids belong to when its text stores fix it (UNITER's txt_dbs).

A UNITER txt_db holds WordPiece ids, not text: its meta.json names the tokenizer (released DBs:
bert-base-cased, 28,996 tokens), the vocabulary size (`v_range[1]`), the special ids and the
random-token range of MLM (`v_range`). Training on those ids needs no vocab.txt, so a run adopts
them: `adopt_store_vocab` sets `model.vocab_size` to the txt_db's size and, when `text.vocab`
disagrees with the txt_db, records the txt_db's vocabulary name in `text.vocab` (the saved
config then says what the ids mean). Tokenising NEW text (`vlkit predict`) needs that
vocabulary's file: `predict_tokenizer` refuses any other and says what to pass.
"""

from __future__ import annotations

import logging
from typing import Any

from vlkit.config import RunConfig
from vlkit.text.tokenizer import SHIPPED_VOCABS, BertTokenizer, get_tokenizer
from vlkit.utils.errors import ConfigError

log = logging.getLogger(__name__)


def store_vocab(cfg: RunConfig) -> dict[str, Any] | None:
    """The manifest of the run's first training (else validation) text store when that is a
    UNITER txt_db whose meta.json states its vocabulary (size, special ids), else None."""
    from vlkit.data.stores.uniter_txt_db import UniterTextStore, is_uniter_txt_db
    from vlkit.runs.stores import data_path

    names = cfg.data.train_txt or cfg.data.val_txt
    path = data_path(cfg, names[0]) if names else None
    if not (path and is_uniter_txt_db(path)):
        return None
    manifest = UniterTextStore(path).manifest
    return manifest if "vocab_size" in manifest else None


def disagreement(vocab: str, lowercase: bool | None, spec: dict[str, Any]) -> str | None:
    """Why the tokenizer of `vocab` cannot have made the ids of a store described by `spec`
    (a UNITER txt_db manifest), or None when it agrees (size, special ids, casing)."""
    if vocab == spec["vocab"]:
        return None
    try:
        tok = get_tokenizer(vocab, lowercase)
    except ConfigError:
        return "it cannot be read"
    ours = {"cls": tok.cls_id, "sep": tok.sep_id, "mask": tok.mask_id, "unk": tok.unk_id}
    if len(tok) != spec["vocab_size"]:
        return f"it has {len(tok):,} tokens, the txt_db's ids {spec['vocab_size']:,}"
    if any(ours[k] != v for k, v in spec["special_ids"].items()):
        return f"its special ids {ours} differ from meta.json's {spec['special_ids']}"
    if tok.lowercase != spec["lowercase"]:
        return "it " + ("lower-cases" if tok.lowercase else "keeps case") + \
            f" but {spec['vocab']} does not"
    return None


def adopt_store_vocab(cfg: RunConfig) -> None:
    """Fit `cfg` to a UNITER txt_db's ids (see the module docstring); in place, before the
    run config is written."""
    spec = store_vocab(cfg)
    if spec is None:
        return
    reason = disagreement(cfg.text.vocab, cfg.text.lowercase, spec)
    if reason is not None:
        log.warning("the text stores hold token ids of %s (%d tokens) and text.vocab=%s "
                    "disagrees (%s): the run records text.vocab=%s; predicting on new text "
                    "will need text.vocab=%s", spec["vocab"], spec["vocab_size"],
                    cfg.text.vocab, reason, spec["vocab"], how_to_pass(spec["vocab"]))
        cfg.text.vocab, cfg.text.lowercase = spec["vocab"], spec["lowercase"]
    if cfg.model.vocab_size != spec["vocab_size"]:
        log.info("model.vocab_size %d -> %d (the txt_db's meta.json v_range)",
                 cfg.model.vocab_size, spec["vocab_size"])
        cfg.model.vocab_size = spec["vocab_size"]


def how_to_pass(vocab: str) -> str:
    """The text.vocab value that names `vocab`: its name when shipped, else its file."""
    return vocab if vocab in SHIPPED_VOCABS else f"PATH/vocab.txt (the file of {vocab})"


def predict_tokenizer(cfg: RunConfig, recorded: str) -> BertTokenizer:
    """The tokenizer of `cfg.text.vocab` for new text, checked against the vocabulary the model
    was trained with (`recorded`: the saved config's text.vocab; `model.vocab_size` ids)."""
    size = cfg.model.vocab_size
    wanted = (f"the model was trained on token ids of the vocabulary {recorded!r} "
              f"({size:,} tokens)")
    try:
        tok = get_tokenizer(cfg.text.vocab, cfg.text.lowercase)
    except ConfigError:
        raise ConfigError(f"{wanted}, which vlkit does not ship (it ships "
                          f"{', '.join(SHIPPED_VOCABS)}) and which is not a file here: pass "
                          f"that vocabulary's file as text.vocab=PATH/vocab.txt") from None
    if len(tok) > size or (cfg.text.vocab != recorded and len(tok) != size):
        raise ConfigError(f"{wanted}, but text.vocab={cfg.text.vocab} has {len(tok):,} tokens: "
                          f"pass text.vocab={how_to_pass(recorded)}")
    return tok
