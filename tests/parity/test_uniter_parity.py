"""vlkit reproduces every tensor of the reference UNITER fixture (model, losses, OT, grads,
AdamW, schedule) from state_dict.pt + inputs.pt + manifest.json."""

from __future__ import annotations

import json

import pytest
import torch

from vlkit.interop.uniter import reproduce_fixture

# sequence outputs whose padding positions are meaningless: compare unpadded positions only
_SEQ_MASKS = {
    "encoder.embedding_output": "plain.attn_masks",
    "encoder.all_layers": "plain.attn_masks",
    "encoder.sequence_output": "plain.attn_masks",
    "encoder.image_only_sequence_output": "img_only.attn_masks",
}


@pytest.fixture(scope="module")
def fixture(fixtures_dir):
    root = fixtures_dir / "uniter_parity"
    manifest = json.loads((root / "manifest.json").read_text())
    inputs = torch.load(root / "inputs.pt", weights_only=True)
    expected = torch.load(root / "outputs.pt", weights_only=True)
    return manifest, inputs, expected, reproduce_fixture(root)


def _tolerance(name: str) -> tuple[float, float]:
    return (1e-4, 1e-4) if name.startswith("itm.ot") else (1e-5, 1e-4)


def _unpadded(name: str, tensor: torch.Tensor, inputs: dict) -> torch.Tensor:
    if name == "encoder.text_only_sequence_output":
        return tensor[inputs["plain.input_ids"] != 0]
    if name == "encoder.txt_embeddings":
        return tensor[inputs["plain.input_ids"] != 0]
    if name == "encoder.img_embeddings":
        return tensor[~inputs["itm.img_pad"]]
    if name in _SEQ_MASKS:
        mask = inputs[_SEQ_MASKS[name]].bool()
        return tensor[:, mask] if name == "encoder.all_layers" else tensor[mask]
    return tensor


def test_every_output_is_reproduced(fixture):
    manifest, inputs, expected, got = fixture
    listed = {k for k, v in manifest["tensors"].items() if v["file"] == "outputs.pt"}
    assert listed == set(expected), "manifest and outputs.pt disagree"
    missing = sorted(set(expected) - set(got))
    assert not missing, f"reproduce_fixture did not compute {missing}"


def test_max_errors_within_tolerance(fixture):
    _, inputs, expected, got = fixture
    failures, table = [], []
    for name, want in expected.items():
        have = got[name]
        assert have.shape == want.shape, f"{name}: shape {tuple(have.shape)} != {tuple(want.shape)}"
        assert have.dtype == want.dtype, f"{name}: dtype {have.dtype} != {want.dtype}"
        a, b = _unpadded(name, have, inputs), _unpadded(name, want, inputs)
        err = (a.double() - b.double()).abs().max().item() if a.numel() else 0.0
        table.append(f"{name:<72} {err:.2e}")
        atol, rtol = _tolerance(name)
        if not torch.allclose(a.double(), b.double(), atol=atol, rtol=rtol):
            failures.append(f"{name}: max abs err {err:.3e}")
    print("\nmax abs error per tensor\n" + "\n".join(table))
    assert not failures, "\n".join(failures)


def test_padding_positions_follow_reference(fixtures_dir, fixture):
    """Without token packing pad positions are computed too (gather_index is an identity
    there) and must match; with packing (the default) they are zeros."""
    _, inputs, expected, packed = fixture
    got = reproduce_fixture(fixtures_dir / "uniter_parity", pack_tokens=False)
    pad = inputs["plain.attn_masks"] == 0
    assert pad.any(), "the fixture should have padding positions"
    for name in ("encoder.sequence_output", "encoder.all_layers"):
        torch.testing.assert_close(got[name], expected[name], atol=1e-5, rtol=1e-4)
        assert not packed[name][..., pad, :].any()


def test_does_not_read_outputs(fixtures_dir, tmp_path):
    """The reproduction works from a copy of the fixture that has no outputs.pt."""
    import shutil

    for name in ("manifest.json", "inputs.pt", "state_dict.pt"):
        shutil.copy(fixtures_dir / "uniter_parity" / name, tmp_path / name)
    got = reproduce_fixture(tmp_path)
    assert "itm.total_loss" in got and torch.isfinite(got["grad.total_loss"])


def _copy(fixtures_dir, tmp_path, edit) -> None:
    """The fixture without outputs.pt, its manifest changed by `edit(manifest)`."""
    import shutil

    for name in ("inputs.pt", "state_dict.pt"):
        shutil.copy(fixtures_dir / "uniter_parity" / name, tmp_path / name)
    manifest = json.loads((fixtures_dir / "uniter_parity" / "manifest.json").read_text())
    edit(manifest)
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))


def test_the_trainers_defaults_are_uniters_settings(fixture):
    """`vlkit train`'s pre-training objective and optimizer defaults are the reference's."""
    from vlkit.interop.uniter import ot_settings, setting
    from vlkit.objectives.pretrain import PretrainObjective
    from vlkit.train.config import TrainConfig
    from vlkit.train.optim import NO_DECAY

    manifest = fixture[0]
    assert PretrainObjective().ot == ot_settings(manifest)
    train = TrainConfig()
    assert (tuple(train.betas), train.eps, train.weight_decay) == (
        tuple(setting(manifest, "optimizer", "betas")), setting(manifest, "optimizer", "eps"),
        setting(manifest, "optimizer", "weight_decay"))
    assert sorted(NO_DECAY) == sorted(setting(manifest, "optimizer", "no_decay"))


def test_settings_are_read_not_assumed(fixtures_dir, fixture, tmp_path):
    """Another beta in settings.ot changes the transport plan; a missing setting is an error
    naming it."""
    from vlkit.utils.errors import CheckpointError

    expected = fixture[2]
    _copy(fixtures_dir, tmp_path, lambda m: m["settings"]["ot"].update(beta=2.0))
    plan = reproduce_fixture(tmp_path)["itm.ot_transport_plan"]
    assert (plan - expected["itm.ot_transport_plan"]).abs().max() > 1e-3
    _copy(fixtures_dir, tmp_path, lambda m: m["settings"]["optimizer"].pop("eps"))
    with pytest.raises(CheckpointError, match="settings.optimizer.eps"):
        reproduce_fixture(tmp_path)
