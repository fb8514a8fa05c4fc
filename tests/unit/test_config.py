from __future__ import annotations

import pytest

from vlkit.config import build_config, config_to_yaml, load_config, preset_names, read_preset
from vlkit.configtools import overrides_to_dict
from vlkit.utils.errors import ConfigError


def test_presets_load_and_follow_naming():
    names = preset_names()
    assert "uniter-tiny-pretrain" in names
    for name in names:
        parts = name.split("-")
        assert len(parts) >= 3, f"preset {name} is not <model>-<size>-<job>"
        cfg = load_config(name)
        assert cfg.model.hidden_size % cfg.model.num_heads == 0


def test_overrides_are_coerced_to_field_types():
    cfg = load_config("uniter-tiny-pretrain", [
        "train.lr=5e-5", "model.num_layers=2", "train.progress=false", "train.betas=[0.9, 0.99]",
        "data.tasks={mlm: 3, itm: 1}", "text.lowercase=none", "train.total_steps=1e3",
    ])
    assert cfg.train.lr == pytest.approx(5e-5) and isinstance(cfg.train.lr, float)
    assert cfg.model.num_layers == 2 and isinstance(cfg.model.num_layers, int)
    assert cfg.train.progress is False
    assert cfg.train.betas == [0.9, 0.99]
    assert cfg.data.tasks == {"mlm": 3.0, "itm": 1.0}
    assert cfg.text.lowercase is None
    assert cfg.train.total_steps == 1000


def test_model_name_starts_from_zoo_entry_and_keys_override_it():
    cfg = load_config("uniter-tiny-pretrain", ["model.name=uniter-base", "model.num_layers=3"])
    assert cfg.model.hidden_size == 768 and cfg.model.num_layers == 3


@pytest.mark.parametrize("override, fragment", [
    ("train.lrr=1", "did you mean 'train.lr'"),
    ("modle.num_layers=2", "did you mean 'model'"),
    ("train.lr=fast", "'train.lr': got 'fast', expected a number"),
    ("train.precision=bf15", "did you mean 'bf16'"),
    ("model.num_layers=2.5", "expected an integer"),
    ("train.progress=maybe", "expected true or false"),
    ("model.name=uniter-tny", "did you mean 'uniter-tiny'"),
    ("train.lr", "key=value"),
])
def test_bad_overrides_name_the_key_and_suggest(override, fragment):
    with pytest.raises(ConfigError, match=None) as err:
        load_config("uniter-tiny-pretrain", [override])
    assert fragment in str(err.value)


def test_unknown_preset_suggests_closest():
    with pytest.raises(ConfigError) as err:
        load_config("uniter-tiny-pretrian")
    assert "uniter-tiny-pretrain" in str(err.value)


def test_dump_round_trips(tmp_path):
    cfg = load_config("uniter-tiny-pretrain", ["train.lr=1e-3"])
    path = tmp_path / "c.yaml"
    path.write_text(config_to_yaml(cfg))
    assert load_config(str(path)) == cfg
    assert read_preset(str(path))["train"]["lr"] == pytest.approx(1e-3)


def test_yaml_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="bad.yaml"):
        load_config(str(bad))
    with pytest.raises(ConfigError, match="config file: no such file or folder: .*missing.yaml"):
        load_config(str(tmp_path / "missing.yaml"))


def test_overrides_to_dict_nests():
    assert overrides_to_dict(["a.b=1", "a.c=x", "d=2"]) == {"a": {"b": "1", "c": "x"}, "d": "2"}
    with pytest.raises(ConfigError):
        build_config({"model": {"hidden_size": "big"}})
