"""Trained-model store: train a model once per (settings, data, code), reuse it afterwards.

A trained model is keyed by three things, hashed together (sha256) into its key:

- its **settings**, a JSON-serialisable dict (hyperparameters, seed, epochs, ...); key order does not
  matter, but types do (``1`` and ``1.0`` are different settings);
- the **data checksum**, a string naming the exact training data (e.g. the sha256 of the data file);
- the **source hash**: sha256 over the contents of the source files that define the model and its
  training, found with ``inspect.getsourcefile`` from the classes, functions or modules given (or
  paths to files). Files are read when the key is computed, so an edited file changes the key even
  in a process that imported the old version. Only contents count, not where the files live.

Each model is one file ``<root>/<key>.pt`` written with ``torch.save``: the state (a dict, typically
of state dicts of tensors), the metadata (a JSON-serialisable dict: training history, timings, ...)
and the inputs of the key for inspection. Writes are atomic (a temporary file in the same folder,
then ``os.replace``), so a reader sees either the old file, the new one or none, never a partial
one. A file that cannot be read (truncated, corrupt, another format) is a miss: ``load`` logs which
file was bad and returns None, and ``get_or_train`` retrains and replaces it.

The default root is ``<repository>/results/models``; the environment variable ``FAIRNB_MODEL_STORE``
overrides it.

Example::

    from fairnb.nn.store import ModelStore

    store = ModelStore()                      # or ModelStore(Path("somewhere"))
    settings = {"beta_exponent": 7, "epochs": 1000, "batch_size": 2048, "seed": 2022}

    def train():
        model = FairDisco(x.shape[1], blocks, **settings).fit(x, s)
        state = {"encoder": model.encoder.state_dict(), "decoder": model.decoder.state_dict()}
        return state, {"history": model.history.to_dict(orient="list")}

    state, metadata, hit = store.get_or_train(settings, data_checksum, [FairDisco, train_vae], train)
    model.encoder.load_state_dict(state["encoder"])

Loaded tensors are on the CPU (``map_location="cpu"``); metadata comes back as JSON gives it
(tuples become lists; objects with ``tolist()``, such as NumPy arrays, are stored as lists).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import os
import re
import tempfile
from pathlib import Path
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Mapping, Sequence

import torch

from fairnb.errors import ParameterError

ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENT_VARIABLE = "FAIRNB_MODEL_STORE"
FORMAT = 1  # part of every key: a new record layout starts a new set of keys
SUFFIX = ".pt"
_KEY = re.compile(r"^[A-Za-z0-9_-]+$")

logger = logging.getLogger(__name__)


def default_root() -> Path:
    """``$FAIRNB_MODEL_STORE`` if set (and not empty), else ``<repository>/results/models``."""
    value = os.environ.get(ENVIRONMENT_VARIABLE)
    return Path(value).expanduser() if value else ROOT / "results" / "models"


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):  # NumPy arrays and scalars, tensors
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _canonical_json(value: Any, name: str) -> str:
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=True, default=_json_default)
    except (TypeError, ValueError) as error:
        raise ParameterError(name, value, "a JSON-serialisable value (dicts, lists, str, numbers, bool, None)", str(error)) from None


def source_files(sources: Sequence[object]) -> list[Path]:
    """The distinct source files of classes, functions, methods or modules (or paths given directly)."""
    if isinstance(sources, (str, os.PathLike)) or not isinstance(sources, Sequence):
        raise ParameterError("sources", sources, "a sequence of classes, functions, modules or file paths", "not a sequence")
    files = set()
    for source in sources:
        if isinstance(source, (str, os.PathLike)):
            path = Path(source)
        else:
            try:
                found = inspect.getsourcefile(inspect.unwrap(source) if callable(source) else source)
            except TypeError:
                found = None
            if found is None:
                raise ParameterError("sources", source, "classes, functions or modules defined in Python source files", "no source file")
            path = Path(found)
        if not path.is_file():
            raise ParameterError("sources", str(path), "existing source files", "file not found")
        files.add(path.resolve())
    return sorted(files)


def source_hash(sources: Sequence[object]) -> str:
    """sha256 over the sorted sha256 digests of the contents of ``source_files(sources)``."""
    digests = sorted(hashlib.sha256(path.read_bytes()).hexdigest() for path in source_files(sources))
    return hashlib.sha256("\n".join(digests).encode()).hexdigest()


class ModelStore:
    """Trained models on disk, keyed by settings, data checksum and source hash (see the module docstring)."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root) if root is not None else default_root()

    def __repr__(self) -> str:
        return f"ModelStore({str(self.root)!r})"

    def key(self, settings: Mapping[str, Any], data_checksum: str, sources: Sequence[object]) -> str:
        """64 hex digits: sha256 of the canonical JSON of settings, data checksum, source hash and format."""
        return hashlib.sha256(self._inputs(settings, data_checksum, sources).encode()).hexdigest()

    def _inputs(self, settings: Mapping[str, Any], data_checksum: str, sources: Sequence[object]) -> str:
        if not isinstance(settings, Mapping):
            raise ParameterError("settings", settings, "a dict of JSON-serialisable settings", "not a dict")
        if not isinstance(data_checksum, str) or not data_checksum:
            raise ParameterError("data_checksum", data_checksum, "a non-empty string (e.g. a sha256)", "not a checksum")
        return _canonical_json({"format": FORMAT, "settings": dict(settings), "data_checksum": data_checksum,
                                "source_hash": source_hash(sources)}, "settings")

    def path(self, key: str) -> Path:
        """Where the model with this key is (or would be) stored."""
        if not isinstance(key, str) or not _KEY.match(key):
            raise ParameterError("key", key, "letters, digits, '-' and '_' (a key from ModelStore.key)", "not a key")
        return self.root / f"{key}{SUFFIX}"

    def load(self, key: str) -> dict[str, Any] | None:
        """``{"state", "metadata", "inputs"}`` of a stored model, or None if absent or unreadable.

        Never raises for a bad file: a truncated, corrupt or foreign file is logged (with its path)
        as a warning and treated as a miss.
        """
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            record = torch.load(path, map_location="cpu", weights_only=True)
            if not isinstance(record, dict) or record.get("format") != FORMAT or record.get("key") != key:
                raise ValueError("not a model-store record for this key")
            if not isinstance(record.get("state"), dict):
                raise ValueError("record without a state dict")
            metadata = json.loads(record["metadata"])
            inputs = json.loads(record["inputs"]) if record.get("inputs") is not None else None
        except Exception as error:  # noqa: BLE001 - any unreadable file is a miss, by contract
            logger.warning("model store: ignoring unreadable file %s (%s: %s)", path, type(error).__name__, error)
            return None
        return {"state": record["state"], "metadata": metadata, "inputs": inputs}

    def save(self, key: str, state: dict[str, Any], metadata: Mapping[str, Any] | None = None, *,
             inputs: str | None = None) -> Path:
        """Write the model atomically (temporary file + ``os.replace``) and return its path.

        Args:
            key: from ``key``.
            state: a dict that ``torch.save`` can write and ``torch.load(weights_only=True)`` can
                read (tensors, numbers, strings, nested dicts and lists; e.g. state dicts).
            metadata: a JSON-serialisable dict (history, timings, ...).
            inputs: the canonical JSON of the key's inputs, kept for inspection (``get_or_train``
                passes it).
        """
        path = self.path(key)
        if not isinstance(state, dict):
            raise ParameterError("state", type(state).__name__, "a dict (e.g. of state dicts)", "not a dict")
        record = {"format": FORMAT, "key": key, "state": state,
                  "metadata": _canonical_json(dict(metadata or {}), "metadata"), "inputs": inputs}
        self.root.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.root, prefix=f".{key}.", suffix=".tmp")
        os.close(handle)
        try:
            torch.save(record, temporary)
            with open(temporary, "rb") as written:
                os.fsync(written.fileno())
            os.chmod(temporary, 0o644)  # mkstemp creates owner-only files; a stored model is shared like any result
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return path

    def get_or_train(self, settings: Mapping[str, Any], data_checksum: str, sources: Sequence[object],
                     train: Callable[[], tuple[dict[str, Any], Mapping[str, Any]]], *,
                     budget: str | None = None) -> tuple[dict[str, Any], dict[str, Any], bool]:
        """``(state, metadata, hit)``: the stored model if there is a readable one, else ``train()``'s, saved.

        ``train`` takes no argument and returns ``(state, metadata)``. On a miss the state is
        returned as ``train`` gave it; the metadata always as the store gives it back (JSON).

        Concurrent callers with the same key (runs executing side by side) train it once: a miss
        takes an exclusive lock on ``<root>/.<key>.lock`` while it trains, and a second caller waits
        for that lock and then finds the stored model.

        ``budget`` names the setting that is a training budget (``epochs``, ``steps``) for models
        trained under a stopping rule. A model whose rule stopped it before its budget ran out
        (``metadata["stopped_early"]`` true, ``metadata["budget_used"]`` the epochs or steps it ran)
        is the model of every budget of at least that many: it is also stored under the key of its
        settings without the budget, and a request with another budget that it satisfies finds it
        there (e.g. the same teacher at 2× and 4× the budget).
        """
        if budget is not None and budget not in settings:
            raise ParameterError("budget", budget, "the name of a setting (the training budget)", "not a setting")
        inputs = self._inputs(settings, data_checksum, sources)
        key = hashlib.sha256(inputs.encode()).hexdigest()
        alias_inputs = alias = None
        if budget is not None:
            open_settings = {k: v for k, v in settings.items() if k != budget} | {"budget": f"{budget}: stopped early"}
            alias_inputs = self._inputs(open_settings, data_checksum, sources)
            alias = hashlib.sha256(alias_inputs.encode()).hexdigest()
        found = self._find(key, alias, settings.get(budget) if budget else None)
        if found is not None:
            return found["state"], found["metadata"], True
        with self._lock(key):
            found = self._find(key, alias, settings.get(budget) if budget else None)  # trained by another process meanwhile
            if found is not None:
                return found["state"], found["metadata"], True
            result = train()
            if not (isinstance(result, tuple) and len(result) == 2):
                raise ParameterError("train", type(result).__name__, "a callable returning (state, metadata)", "wrong return value")
            state, metadata = result
            self.save(key, state, metadata, inputs=inputs)
            if alias is not None and (metadata or {}).get("stopped_early") and metadata.get("budget_used") is not None:
                self.save(alias, state, metadata, inputs=alias_inputs)
        return state, json.loads(_canonical_json(dict(metadata or {}), "metadata")), False

    def _find(self, key: str, alias: str | None, requested: Any) -> dict[str, Any] | None:
        record = self.load(key)
        if record is not None or alias is None:
            return record
        record = self.load(alias)
        if record is None:
            return None
        used = record["metadata"].get("budget_used")
        return record if isinstance(used, (int, float)) and isinstance(requested, (int, float)) and used <= requested else None

    @contextmanager
    def _lock(self, key: str) -> Iterator[None]:
        """An exclusive advisory lock per key (``fcntl.flock`` on ``.<key>.lock``, removed on release;
        no lock where the platform has none)."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            yield
            return
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / f".{key}.lock"
        while True:
            handle = open(path, "a+")
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                current = os.stat(path).st_ino
            except FileNotFoundError:
                current = None
            if current == os.fstat(handle.fileno()).st_ino:
                break
            handle.close()  # the holder removed the file after we opened it: lock the new one
        try:
            yield
        finally:
            path.unlink(missing_ok=True)
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            handle.close()


def array_checksum(*arrays: Any) -> str:
    """sha256 over the dtype, shape and bytes of each array (NumPy arrays or tensors): a data checksum
    for ``ModelStore`` keys that names the exact training matrix."""
    import numpy as np

    digest = hashlib.sha256()
    for array in arrays:
        if isinstance(array, torch.Tensor):
            array = array.detach().cpu().numpy()
        array = np.ascontiguousarray(np.asarray(array))
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()
