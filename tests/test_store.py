"""Trained-model store: keys, hits and misses, unreadable files, atomic writes, default root."""

import hashlib
import importlib
import json
import logging
import sys

import pytest
import torch

from fairnb.errors import ParameterError
from fairnb.nn import store as store_module
from fairnb.nn.store import ModelStore, default_root, source_hash

SETTINGS = {"beta_exponent": 7, "epochs": 3, "lr": 1e-3, "layers": [64, 64]}
CHECKSUM = "0" * 64


class Counter:
    """A ``train`` callable that counts its calls and returns a small state dict and metadata."""

    def __init__(self, scale: float = 1.0):
        self.calls, self.scale = 0, scale

    def __call__(self):
        self.calls += 1
        state = {"encoder": {"weight": torch.full((2, 3), self.scale), "bias": torch.arange(2.0)}, "step": 7}
        return state, {"history": [{"epoch": 0, "loss": 1.5}], "seconds": 0.25}


@pytest.fixture
def store(tmp_path):
    return ModelStore(tmp_path / "models")


@pytest.fixture
def model_source(tmp_path, monkeypatch):
    """A module in its own source file, which a test may edit and reload."""
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "tiny_model.py").write_text("class Tiny:\n    width = 3\n")
    monkeypatch.syspath_prepend(str(folder))
    module = importlib.import_module("tiny_model")
    yield module
    sys.modules.pop("tiny_model", None)


def test_hit_on_same_inputs(store, model_source):
    train = Counter()
    state, metadata, hit = store.get_or_train(SETTINGS, CHECKSUM, [model_source.Tiny], train)
    assert not hit and train.calls == 1
    again, metadata_again, hit = store.get_or_train(dict(reversed(list(SETTINGS.items()))), CHECKSUM, [model_source], train)
    assert hit and train.calls == 1  # key order of the settings and class vs its module do not matter
    assert torch.equal(again["encoder"]["weight"], state["encoder"]["weight"]) and again["step"] == 7
    assert metadata_again == metadata == {"history": [{"epoch": 0, "loss": 1.5}], "seconds": 0.25}
    record = store.load(store.key(SETTINGS, CHECKSUM, [model_source]))
    assert record["inputs"]["settings"] == SETTINGS and record["inputs"]["data_checksum"] == CHECKSUM


def test_miss_on_changed_setting_checksum_or_source(store, model_source):
    train = Counter()
    store.get_or_train(SETTINGS, CHECKSUM, [model_source.Tiny], train)
    assert not store.get_or_train({**SETTINGS, "epochs": 4}, CHECKSUM, [model_source.Tiny], train)[2]
    assert not store.get_or_train({**SETTINGS, "epochs": 3.0}, CHECKSUM, [model_source.Tiny], train)[2]  # 3 ≠ 3.0
    assert not store.get_or_train(SETTINGS, "1" * 64, [model_source.Tiny], train)[2]
    assert not store.get_or_train(SETTINGS, CHECKSUM, [model_source.Tiny, ModelStore], train)[2]  # one more source file
    # editing the source file changes the key, even before the module is re-imported
    path = model_source.__file__
    with open(path, "a") as handle:
        handle.write("    depth = 2\n")
    assert not store.get_or_train(SETTINGS, CHECKSUM, [model_source.Tiny], train)[2]
    assert train.calls == 6
    assert store.get_or_train(SETTINGS, CHECKSUM, [importlib.reload(model_source).Tiny], train)[2]


def test_key_is_deterministic(store, model_source):
    key = store.key(SETTINGS, CHECKSUM, [model_source.Tiny, ModelStore])
    assert key == store.key(SETTINGS, CHECKSUM, [ModelStore, model_source, model_source.Tiny])
    assert ModelStore(store.root / "elsewhere").key(SETTINGS, CHECKSUM, [model_source]) == store.key(SETTINGS, CHECKSUM, [model_source])
    # the documented recipe, with nothing that varies between processes (no hash(), no object ids)
    files = sorted(hashlib.sha256(open(f, "rb").read()).hexdigest() for f in (model_source.__file__, store_module.__file__))
    sources = hashlib.sha256("\n".join(files).encode()).hexdigest()
    inputs = json.dumps({"format": 1, "settings": SETTINGS, "data_checksum": CHECKSUM, "source_hash": sources},
                        sort_keys=True, separators=(",", ":"))
    assert key == hashlib.sha256(inputs.encode()).hexdigest()


def test_corrupt_or_truncated_file_is_a_logged_miss_then_retrained(store, model_source, caplog):
    train = Counter()
    sources = [model_source.Tiny]
    key = store.key(SETTINGS, CHECKSUM, sources)
    store.get_or_train(SETTINGS, CHECKSUM, sources, train)
    path = store.path(key)
    whole = path.read_bytes()
    for bad in (whole[: len(whole) // 2], b"not a torch file", b""):
        path.write_bytes(bad)
        with caplog.at_level(logging.WARNING, logger="fairnb.nn.store"):
            caplog.clear()
            assert store.load(key) is None
        assert str(path) in caplog.text
    _, _, hit = store.get_or_train(SETTINGS, CHECKSUM, sources, train)
    assert not hit and train.calls == 2
    assert store.load(key) is not None and store.get_or_train(SETTINGS, CHECKSUM, sources, train)[2]
    # a readable file of another shape, or saved under another key, is a miss too
    torch.save({"format": 1, "key": "other", "state": {}, "metadata": "{}"}, path)
    assert store.load(key) is None
    torch.save([1, 2, 3], path)
    assert store.load(key) is None


def test_interrupted_save_leaves_no_partial_file(store, model_source, monkeypatch):
    sources = [model_source.Tiny]
    key = store.key(SETTINGS, CHECKSUM, sources)
    real_save = torch.save

    def failing_save(obj, target, *args, **kwargs):
        with open(target, "wb") as handle:  # half a file, then the failure
            handle.write(b"PK\x03\x04 partial")
        raise KeyboardInterrupt("interrupted")

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(KeyboardInterrupt):
        store.get_or_train(SETTINGS, CHECKSUM, sources, Counter())
    assert not store.path(key).exists()
    assert list(store.root.iterdir()) == []  # the temporary file is gone too
    # an interrupted overwrite keeps the previous model
    monkeypatch.setattr(torch, "save", real_save)
    store.get_or_train(SETTINGS, CHECKSUM, sources, Counter(scale=1.0))
    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(KeyboardInterrupt):
        store.save(key, Counter(scale=2.0)()[0], {})
    monkeypatch.setattr(torch, "save", real_save)
    record = store.load(key)
    assert record is not None and float(record["state"]["encoder"]["weight"][0, 0]) == 1.0
    assert [p.name for p in store.root.iterdir()] == [store.path(key).name]


def test_default_root_and_environment_override(monkeypatch, tmp_path):
    monkeypatch.delenv("FAIRNB_MODEL_STORE", raising=False)
    assert default_root() == store_module.ROOT / "results" / "models"
    assert (store_module.ROOT / "fairnb" / "nn" / "store.py").is_file()
    assert ModelStore().root == default_root()
    monkeypatch.setenv("FAIRNB_MODEL_STORE", str(tmp_path / "elsewhere"))
    assert ModelStore().root == tmp_path / "elsewhere"
    assert ModelStore(tmp_path / "given").root == tmp_path / "given"


def test_bad_inputs_raise(store, model_source):
    with pytest.raises(ParameterError, match="JSON"):
        store.key({"model": object()}, CHECKSUM, [model_source])
    with pytest.raises(ParameterError, match="no source file"):
        store.key(SETTINGS, CHECKSUM, [len])
    with pytest.raises(ParameterError, match="not a sequence"):
        store.key(SETTINGS, CHECKSUM, "fairnb/nn/store.py")
    with pytest.raises(ParameterError, match="checksum"):
        store.key(SETTINGS, "", [model_source])
    with pytest.raises(ParameterError, match="not a key"):
        store.path("../escape")
    with pytest.raises(ParameterError, match="wrong return value"):
        store.get_or_train(SETTINGS, CHECKSUM, [model_source], lambda: {"weight": torch.zeros(1)})
    assert store.load(store.key(SETTINGS, CHECKSUM, [model_source])) is None  # nothing was saved


def test_metadata_round_trip_and_source_hash_independent_of_location(store, tmp_path, model_source):
    import numpy as np

    state, metadata, _ = store.get_or_train(SETTINGS, CHECKSUM, [model_source],
                                            lambda: ({"w": torch.ones(1)}, {"curve": np.arange(3), "pair": (1, 2), "nan": float("nan")}))
    assert metadata["curve"] == [0, 1, 2] and metadata["pair"] == [1, 2] and metadata["nan"] != metadata["nan"]
    copy = tmp_path / "copy" / "tiny_model.py"
    copy.parent.mkdir()
    copy.write_bytes(open(model_source.__file__, "rb").read())
    assert source_hash([copy]) == source_hash([model_source])


def test_saved_file_is_readable_by_others(store):
    import stat

    path = store.save("a" * 64, {"w": torch.zeros(1)}, {})
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
