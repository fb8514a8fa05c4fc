"""The trainer's logs: sums stay on the device between log lines and average exactly as Python
floats would; DDP's find_unused_parameters comes from the objective."""

from __future__ import annotations

import torch

from vlkit.train.distributed import DistInfo
from vlkit.train.trainer import (
    _as_floats,
    _detached,
    _LogWindow,
    _MicroBatches,
    find_unused_parameters,
)


def _micro(*logs: dict) -> _MicroBatches:
    return _MicroBatches([{k: _detached(v) for k, v in d.items()} for d in logs],
                         torch.zeros((), dtype=torch.bool), [], [], 2 * len(logs))


def test_window_sums_stay_tensors_until_read():
    window = _LogWindow()
    values = [torch.tensor(0.1), torch.tensor(0.7), torch.tensor(1.3)]
    for v in values:
        window.add(_micro({"loss": v, "n": 2}))
    assert isinstance(window.sums["loss"], torch.Tensor)  # no host sync per micro-batch
    assert window.sums["loss"].dtype == torch.float64
    expected = sum(float(v) for v in values) / 3  # the Python-float arithmetic of a host sum
    assert window.means() == {"loss": expected, "n": 2.0}
    assert window.items == 6


def test_window_checkpoint_holds_floats_and_resumes_the_same_sums():
    window = _LogWindow()
    window.add(_micro({"loss": torch.tensor(0.25)}, {"loss": torch.tensor(0.5)}))
    state = window.state_dict()
    assert state["sums"] == {"loss": 0.75} and state["counts"] == {"loss": 2}
    resumed = _LogWindow.restored([state], DistInfo())
    resumed.add(_micro({"loss": torch.tensor(1.0)}))
    window.add(_micro({"loss": torch.tensor(1.0)}))
    assert resumed.means() == window.means() == {"loss": 1.75 / 3}


def test_as_floats_keeps_key_order_and_mixed_values():
    assert _as_floats({"b": torch.tensor(2.0), "a": 1.5}) == {"b": 2.0, "a": 1.5}
    assert list(_as_floats({"b": torch.tensor(2.0), "a": 1.5})) == ["b", "a"]


class _Claims:
    uses_all_parameters = True


def test_find_unused_parameters_is_true_unless_the_objective_says_otherwise():
    assert find_unused_parameters(lambda model, batch: None) is True
    assert find_unused_parameters(_Claims()) is False
