"""open_store detects every supported store kind and rejects anything else clearly."""

from __future__ import annotations

import json

import pytest

from vlkit.data.stores.native_img import NativeImageStore
from vlkit.data.stores.native_txt import NativeTextStore, NativeTextStoreWriter
from vlkit.data.stores.open import open_store, store_kind
from vlkit.data.stores.uniter_img_db import UniterImageStore
from vlkit.data.stores.uniter_txt_db import UniterTextStore
from vlkit.utils.errors import DataError


def test_native_stores(native_img_store, native_txt_store):
    img, txt = open_store(native_img_store), open_store(native_txt_store)
    assert isinstance(img, NativeImageStore) and store_kind(img) == "image"
    assert isinstance(txt, NativeTextStore) and store_kind(txt) == "text"


def test_uniter_txt_db(make_uniter_txt_db):
    store = open_store(make_uniter_txt_db({"a": {"input_ids": [1]}}))
    assert isinstance(store, UniterTextStore) and store_kind(store) == "text"


def test_uniter_img_db_variant_and_parent(make_uniter_img_db, region_arrays):
    images = {"a.npz": region_arrays(3)}
    comp = make_uniter_img_db("feat_th0.2_max100_min10_compressed", images)
    store = open_store(comp)
    assert isinstance(store, UniterImageStore) and store_kind(store) == "image"
    assert open_store(comp.parent).path == comp  # the only variant
    plain = make_uniter_img_db("feat_th0.2_max100_min10", images)
    other = make_uniter_img_db("feat_th0.5_max50_min5", images)
    assert open_store(comp.parent).path == plain  # uncompressed, UNITER's default rule
    assert open_store(other).path == other


def test_ambiguous_parent_is_an_error(make_uniter_img_db, region_arrays):
    images = {"a.npz": region_arrays(3)}
    make_uniter_img_db("feat_th0.5_max50_min5", images)
    folder = make_uniter_img_db("feat_numbb36", images)
    with pytest.raises(DataError, match="several UNITER img_db variants.*feat_numbb36"):
        open_store(folder.parent)


def test_random_folder_and_missing_path(tmp_path):
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match=r"junk: not a recognised store; expected .*meta\.json"):
        open_store(tmp_path / "junk")
    with pytest.raises(DataError, match="no such file or folder: .*nowhere .*holds: junk"):
        open_store(tmp_path / "nowhere")
    with pytest.raises(DataError, match="no such file or folder: .*jnuk .did you mean .*junk"):
        open_store(tmp_path / "jnuk")


def test_a_dataset_root_lists_its_stores(tmp_path):
    world = tmp_path / "world"
    (world / "manifest.json").parent.mkdir()
    (world / "manifest.json").write_text(json.dumps({"format": "vlkit-synth"}))
    for name in ("caption_val", "vqa_val"):
        with NativeTextStoreWriter(world / "txt" / name, task="caption") as writer:
            writer.add({"id": "a", "input_ids": [1037], "img_id": "im"})
    with pytest.raises(DataError) as err:
        open_store(world)
    assert str(err.value) == (
        f"{world}: a folder of stores (a dataset root such as a synthetic world), not a store;"
        f" pass {world}/txt/<store> (<store>: caption_val, vqa_val)")


def test_unknown_manifest_format(tmp_path):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "manifest.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(DataError, match="manifest.json: unknown store format 'other'"):
        open_store(tmp_path / "s")
