"""TrainConfig: validation, JSON round trip; device resolution."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="the training tests need the train extra (torch)")

from xcat.train import TrainConfig, resolve_device  # noqa: E402


def test_train_config_errors():
    with pytest.raises(ValueError, match="loss"):
        TrainConfig(loss="hinge")
    with pytest.raises(ValueError, match="sampling"):
        TrainConfig(sampling="stratified")


def test_train_config_round_trip_and_device_resolution():
    tc = TrainConfig(loss="bpr", domain_weights={"a": 0.5}, sampling="balanced")
    assert TrainConfig.from_dict(tc.to_dict()) == tc
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")
    with pytest.raises(ValueError, match="device"):
        TrainConfig(device="tpu")
