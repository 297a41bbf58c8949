"""A generic, seeded training loop shared by every stage of paper 000, and its stopping rule.

``train_loop`` knows nothing about networks: it takes the parameters to optimise, a ``step``
callable mapping one batch (a tuple of tensors already on the device) to named loss terms, and
the data. ``train_vae`` builds the stage-1 step for any encoder/decoder pair with the contract

    encoder(x, s) -> (mean, logvar)    both (n, z_dim)
    decoder(z, s) -> x_hat             same shape as the reconstruction target

so tabular MLPs and convolutional image networks plug into the same code (an image encoder may
ignore ``s``).

**Batches on the device.** The data tensors are moved to the device once; each epoch draws one
permutation of the row indices from a generator seeded with ``seed`` (on the device) and indexes
whole batches from it, so no per-row work happens on the host. The same parameters give the same
numbers on the same device.

**Stopping rule.** Every trained generator states how long it trains (``StoppingRule``): either a
fixed budget of epochs, or "until the validation criterion stops improving": the criterion is
evaluated on held-out rows after every epoch (with fixed noise, so it is a deterministic function
of the parameters), and training stops once it has not improved by more than ``min_delta``
(relative) for ``patience`` epochs, or at the budget; the parameters of the best epoch are kept.
The returned history carries one row per epoch with the training terms, their ``val_`` twins and
``seconds``; ``convergence(history)`` reads what happened (best epoch, why it stopped, the rule).
"""

from __future__ import annotations

import copy
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import TensorDataset

from fairnb.errors import ParameterError, TrainingDivergedError
from fairnb.nn.losses import gaussian_kl, reparameterise

Step = Callable[[tuple[torch.Tensor, ...]], Mapping[str, torch.Tensor]]
Data = TensorDataset | Sequence[torch.Tensor]
VALIDATION_SEED_OFFSET = 7919  # validation noise: seed + this, drawn in a forked RNG (training is unaffected)
MAX_RESIDENT_BYTES = 4 * 2**30  # larger data stay on the host and are copied a batch at a time


def _check_positive_int(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ParameterError(name, value, "a positive int")


# --------------------------------------------------------------------------- the stated rule


@dataclass(frozen=True)
class StoppingRule:
    """How long a generator trains.

    Attributes:
        max_epochs: the budget (the whole training length when ``patience`` is 0).
        patience: 0 = train exactly ``max_epochs`` epochs; else stop when the monitored validation
            criterion has not improved by more than ``min_delta`` (relative) for ``patience``
            consecutive epochs, and keep the parameters of the best epoch.
        min_delta: relative improvement that counts (``value < best − min_delta·|best|``).
        min_epochs: never stop before this many epochs.
        monitor: the criterion's name (a column of the history, e.g. ``val_loss``).
    """

    max_epochs: int
    patience: int = 0
    min_delta: float = 1e-3
    min_epochs: int = 1
    monitor: str = "val_loss"

    def __post_init__(self) -> None:
        _check_positive_int("max_epochs", self.max_epochs)
        if not isinstance(self.patience, int) or isinstance(self.patience, bool) or self.patience < 0:
            raise ParameterError("patience", self.patience, "an int >= 0 (0 = a fixed budget of max_epochs)")
        if not isinstance(self.min_delta, (int, float)) or isinstance(self.min_delta, bool) \
                or not math.isfinite(self.min_delta) or self.min_delta < 0:
            raise ParameterError("min_delta", self.min_delta, "a finite float >= 0 (relative improvement)")
        _check_positive_int("min_epochs", self.min_epochs)

    @property
    def early(self) -> bool:
        return self.patience > 0

    def describe(self, criterion: str | None = None) -> str:
        """The rule in one sentence, for a page."""
        if not self.early:
            return f"a fixed budget of {self.max_epochs} epochs"
        what = criterion or self.monitor
        return (f"until the {what} on held-out training rows has not improved by more than {self.min_delta:.1%} "
                f"for {self.patience} epochs (at most {self.max_epochs} epochs; the best epoch's parameters are kept)")


@dataclass(frozen=True)
class TrainingRule:
    """The stopping rule and model reuse of the generators a study builds, passed to them explicitly: a run builds
    one from its parameters and profile (``fairnb.runs.Config.training``), study settings carry it.

    ``patience`` (0 = a fixed budget) and ``min_delta``: as ``StoppingRule``; ``validation_fraction``: share of
    the training rows held out for the criterion (> 0 when ``patience`` > 0); ``reuse``: take a model with the
    same settings, rows and code from the trained-model store (``fairnb.nn.store``) instead of training it again.
    """

    patience: int = 0
    min_delta: float = 1e-3
    validation_fraction: float = 0.0
    reuse: bool = False

    def __post_init__(self) -> None:
        check_stopping(1, self.patience, self.min_delta, self.validation_fraction)
        if not isinstance(self.reuse, (bool, np.bool_)):
            raise ParameterError("reuse", self.reuse, "True or False")

    def stopping_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of a generator's stopping rule (``patience``, ``min_delta``, ``validation_fraction``)."""
        return {"patience": self.patience, "min_delta": self.min_delta, "validation_fraction": self.validation_fraction}

    def generator_kwargs(self) -> dict[str, Any]:
        """``stopping_kwargs`` and ``reuse``: the keyword arguments of a stored generator (``Decaf``, ``FLDGM``)."""
        return {**self.stopping_kwargs(), "reuse": self.reuse}

    def rule(self, epochs: int) -> StoppingRule:
        """The ``StoppingRule`` of a generator with a budget of ``epochs``."""
        return stopping_rule(epochs, self.patience, self.min_delta)


def resolve_stopping(epochs: int, patience: int | None, min_delta: float | None,
                     validation_fraction: float | None) -> tuple[StoppingRule, float]:
    """A generator's rule and validation fraction from its own settings, ``FIXED_BUDGET``'s values for
    None; ``ParameterError`` names the first bad value (``check_stopping``)."""
    patience = 0 if patience is None else patience
    min_delta = 1e-3 if min_delta is None else min_delta
    validation_fraction = 0.0 if validation_fraction is None else validation_fraction
    return check_stopping(epochs, patience, min_delta, validation_fraction), float(validation_fraction)


def stopping_rule(epochs: int, patience: int | None = None, min_delta: float = 1e-3, monitor: str = "val_loss",
                  min_epochs: int = 1) -> StoppingRule:
    """``StoppingRule`` from a generator's settings (``patience`` None or 0: a fixed budget)."""
    return StoppingRule(int(epochs), int(patience or 0), float(min_delta), min(int(min_epochs), int(epochs)), monitor)


def check_stopping(epochs: int, patience: int, min_delta: float, validation_fraction: float) -> StoppingRule:
    """Validate a generator's stopping settings (``ParameterError`` naming the first bad one) and
    return its rule: ``patience`` > 0 needs held-out rows (``validation_fraction`` in (0, 1))."""
    import numpy as np

    for name, value in (("epochs", epochs), ("patience", patience)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < (1 if name == "epochs" else 0):
            raise ParameterError(name, value, "a positive int" if name == "epochs" else "an int >= 0 (0 = a fixed budget)")
    if isinstance(min_delta, bool) or not isinstance(min_delta, (int, float, np.floating)) or not math.isfinite(min_delta) or min_delta < 0:
        raise ParameterError("min_delta", min_delta, "a finite float >= 0 (relative improvement)")
    if isinstance(validation_fraction, bool) or not isinstance(validation_fraction, (int, float, np.floating)) \
            or not 0 <= validation_fraction < 1 or (patience and validation_fraction == 0):
        raise ParameterError("validation_fraction", validation_fraction,
                             "a float in [0, 1); > 0 when patience > 0 (the rule watches held-out rows)")
    return stopping_rule(int(epochs), int(patience), float(min_delta))


# a generator given no rule of its own trains its whole budget, holds nothing out and trains afresh
FIXED_BUDGET = TrainingRule()


@dataclass(frozen=True)
class Convergence:
    """What a training run did: ``epochs`` run, ``best_epoch`` (whose parameters were kept),
    ``stopped`` (``early``: the criterion stopped improving; ``budget``: the budget ran out while
    it still improved or no criterion was used), the ``rule`` text and its monitored ``criterion``."""

    epochs: int
    best_epoch: int
    stopped: str
    rule: str
    criterion: str
    best_value: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def sentence(self, name: str = "The model") -> str:
        why = ("its criterion stopped improving" if self.stopped == "early"
               else "the budget ran out" + (" while the criterion was still improving" if self.best_epoch == self.epochs
                                            and self.criterion else ""))
        return f"{name} trained {self.rule}: it ran {self.epochs} epochs ({why}); the kept parameters are those of epoch {self.best_epoch}."


def ending_metrics(history: pd.DataFrame, ending: Convergence | None) -> dict[str, float]:
    """How a training ended, as record metrics: ``epochs_run`` (from ``ending``, else the history's length) and
    ``stopped_early`` (1 when its stopping rule stopped it — the criterion no longer improved —, 0 when the budget
    ran out, a fixed budget (``ending`` None) included: such a model is not shown to have converged)."""
    return {"epochs_run": float(ending.epochs if ending is not None else len(history)),
            "stopped_early": float(ending is not None and ending.stopped == "early")}


def history_metadata(history: pd.DataFrame) -> dict[str, Any]:
    """A training history as JSON-ready metadata for the trained-model store: its columns (in order),
    values, ``convergence`` and, for budget-aware reuse, ``stopped_early`` and ``budget_used`` (epochs run)."""
    found = history.attrs.get("convergence")
    return {"history": {c: history[c].tolist() for c in history.columns}, "history_columns": list(history.columns),
            "convergence": found, "stopped_early": bool(found and found["stopped"] == "early"),
            "budget_used": int(found["epochs"]) if found else len(history)}


def convergence(history: pd.DataFrame) -> Convergence | None:
    """The ``Convergence`` a ``train_loop`` history carries (``None`` for other frames)."""
    value = history.attrs.get("convergence") if isinstance(history, pd.DataFrame) else None
    return Convergence(**value) if isinstance(value, dict) else None


def replay(history: pd.DataFrame, rule: StoppingRule, criterion: str = "") -> Convergence:
    """The ``Convergence`` that ``rule`` gives on ``history`` (its ``rule.monitor`` column, one row per
    epoch): what the training loop decided, recomputed from the curve (e.g. for histories whose
    ``attrs`` were lost in a concatenation)."""
    stopper = EarlyStopping(rule, criterion)
    values = history[rule.monitor].tolist() if rule.monitor in history.columns else [None] * len(history)
    for epoch, value in enumerate(values, start=1):
        if stopper.update(epoch, value):
            break
    return stopper.result(len(history))


class EarlyStopping:
    """Track a criterion epoch by epoch under a ``StoppingRule``; ``update`` says whether to stop.

    Usable by any training loop (GANs included): call ``update(epoch, value, snapshot)`` after each
    epoch with the criterion's value (lower is better) and a callable returning the state to keep;
    ``best_state`` is the kept state, ``result(epochs)`` the ``Convergence``.
    """

    def __init__(self, rule: StoppingRule, criterion: str = ""):
        self.rule, self.criterion = rule, criterion or rule.monitor
        self.best_value: float | None = None
        self.best_epoch = 0
        self.best_state: Any = None
        self.stopped = "budget"

    def update(self, epoch: int, value: float | None, snapshot: Callable[[], Any] | None = None) -> bool:
        """Record epoch ``epoch``'s criterion (None: no criterion); True when training should stop now."""
        if value is None or not self.rule.early:
            self.best_epoch = epoch
            return False
        if not math.isfinite(value):
            raise TrainingDivergedError(f"validation criterion {self.criterion} is {value} at epoch {epoch}")
        if self.best_value is None or value < self.best_value - self.rule.min_delta * abs(self.best_value):
            self.best_value, self.best_epoch = float(value), epoch
            self.best_state = snapshot() if snapshot is not None else None
        if epoch >= self.rule.min_epochs and epoch - self.best_epoch >= self.rule.patience:
            self.stopped = "early"
            return True
        return False

    def result(self, epochs: int) -> Convergence:
        return Convergence(epochs=int(epochs), best_epoch=int(self.best_epoch), stopped=self.stopped,
                           rule=self.rule.describe(self.criterion if self.rule.early else None),
                           criterion=self.criterion if self.rule.early else "",
                           best_value=self.best_value)


# --------------------------------------------------------------------------- progress and data helpers


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def _kernel_log() -> Any:
    """Inside a notebook kernel: a text stream on the kernel process's own stderr (under ``fairnb run``
    the run's kernel log, ``_build/logs/<run>.log``; under Jupyter the server's console), bypassing the
    capture that copies file-descriptor output into the page. ``None`` when there is no such stream."""
    global _KERNEL_LOG
    if _KERNEL_LOG is None:
        descriptor = getattr(sys.stderr, "_original_stdstream_copy", None)  # ipykernel >= 6 keeps the real fd 2 here
        if descriptor is None:
            return None
        _KERNEL_LOG = os.fdopen(os.dup(descriptor), "w", buffering=1)
    return _KERNEL_LOG


_KERNEL_LOG = None


def progress_enabled(enabled: bool | None = None) -> bool:
    """Progress bars: on in a terminal and inside a notebook kernel (written to the kernel's log, see
    ``progress``), off elsewhere (tests, pipes), unless ``enabled`` says otherwise or
    ``FAIRNB_PROGRESS`` is ``0``/``1``."""
    if enabled is not None:
        return bool(enabled)
    value = os.environ.get("FAIRNB_PROGRESS")
    if value in ("0", "1"):
        return value == "1"
    return (_in_kernel() and _kernel_log() is not None) or bool(getattr(sys.stderr, "isatty", lambda: False)())


def progress(iterable: Iterable, desc: str, total: int | None = None, enabled: bool | None = None,
             leave: bool = False) -> Iterator:
    """``iterable`` wrapped in a tqdm bar when ``progress_enabled`` (else unchanged).

    Inside a notebook kernel the bar goes to the kernel process's own stderr — under ``fairnb run``
    the run's kernel log (``_build/logs/<run>.log``), where a long cell's progress can be followed — and
    never into the page, so executed pages stay clean. While a bar shows, the loop also reports
    ``ProgressEvent``s to every listener (``subscribe_progress``; under ``fairnb run`` a line per event in
    the file ``FAIRNB_PROGRESS_EVENTS`` names, which the runner reads for its progress line).
    """
    if not progress_enabled(enabled):
        return iter(iterable)
    from tqdm import tqdm

    stream = (_kernel_log() or sys.stderr) if _in_kernel() else sys.stderr
    bar = iter(tqdm(iterable, desc=desc, total=total, leave=leave, mininterval=2.0, file=stream, dynamic_ncols=True))
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    return _reporting(bar, desc, total) if _listeners() else bar


PROGRESS_EVENTS = "FAIRNB_PROGRESS_EVENTS"
"""Environment variable: the file a process appends its progress events to, one JSON object a line
(``ProgressEvent.to_json``); ``fairnb run`` sets it for each kernel (``_build/logs/<run>.progress.jsonl``)."""

REPORT_INTERVAL = 1.0  # seconds between two step events of one loop: enough for a line redrawn every 2 s


@dataclass(frozen=True)
class ProgressEvent:
    """One report of a long loop (a fit's epochs or steps, an outer loop over repetitions), written as one
    JSON object a line with exactly these keys (``to_json``; ``from_json`` reads it back):

    - ``phase``: what runs, the ``desc`` given to ``progress`` (e.g. ``"FairDisco teacher"``);
    - ``fit``: which fit of this phase this is, from 1; ``fits``: how many the run makes when an enclosing
      ``progress`` loop says so (its total; the fit is its current item), else ``null`` and ``fit`` counts the
      loops of this phase started in this process;
    - ``step``, ``total``: iterations finished in this loop and its length (a budget: a stopping rule may end
      the loop sooner; ``null`` when unknown);
    - ``depth``: nesting of the loop (0: outermost); ``time``: when (seconds since the epoch);
    - ``done``: the loop ended (its last event). The first event of a loop has ``step`` 0 and the time it
      started; step events follow at most every ``REPORT_INTERVAL`` s.
    """

    phase: str
    fit: int
    fits: int | None
    step: int
    total: int | None
    depth: int
    time: float
    done: bool = False

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, line: str) -> "ProgressEvent":
        """Read one line of an events file; ``ValueError`` when it is not an event."""
        data = json.loads(line)
        try:
            return cls(**{name: data[name] for name in cls.__dataclass_fields__})
        except (KeyError, TypeError) as error:
            raise ValueError(f"not a progress event ({error!r}): {line[:80]!r}") from None


ProgressListener = Callable[[ProgressEvent], None]
_LISTENERS: list[ProgressListener] = []
_FILE_WRITERS: dict[str, ProgressListener] = {}  # events file -> its writer, opened once per process
_ACTIVE: list["_Loop"] = []  # the loops reporting now, outermost first
_STARTS: dict[str, int] = {}  # phase -> loops of that phase started in this process


def subscribe_progress(listener: ProgressListener) -> Callable[[], None]:
    """Call ``listener`` with every ``ProgressEvent`` of this process; returns the function that unsubscribes.
    A listener that raises is ignored (progress never stops training)."""
    _LISTENERS.append(listener)
    return lambda: _LISTENERS.remove(listener) if listener in _LISTENERS else None


def _listeners() -> list[ProgressListener]:
    """The subscribed listeners, and the events file's writer when ``FAIRNB_PROGRESS_EVENTS`` names one."""
    path = os.environ.get(PROGRESS_EVENTS)
    if not path:
        return list(_LISTENERS)
    if path not in _FILE_WRITERS:
        try:
            handle = open(path, "a", buffering=1, encoding="utf-8")  # line-buffered: a reader sees whole lines
        except OSError:
            handle = None  # progress is not worth an error: the run goes on without its events
        _FILE_WRITERS[path] = (lambda event: handle.write(event.to_json() + "\n")) if handle else (lambda event: None)
    return [*_LISTENERS, _FILE_WRITERS[path]]


@dataclass
class _Loop:  # a loop reporting now
    phase: str
    fit: int
    fits: int | None
    total: int | None
    depth: int
    step: int = 0

    def report(self, done: bool = False) -> None:
        event = ProgressEvent(self.phase, self.fit, self.fits, self.step, self.total, self.depth, time.time(), done)
        for listener in _listeners():
            try:
                listener(event)
            except Exception:  # noqa: BLE001 - a broken listener (a full disk) never stops training
                pass


def _reporting(items: Iterator, phase: str, total: int | None) -> Iterator:
    """Yield ``items`` and report the loop's events (``ProgressEvent``)."""
    _STARTS[phase] = _STARTS.get(phase, 0) + 1
    outer = _ACTIVE[-1] if _ACTIVE else None
    if outer is not None and outer.total and outer.phase != phase:  # a fit inside a loop over repetitions
        fit, fits = min(outer.step + 1, outer.total), outer.total
    else:
        fit, fits = _STARTS[phase], None
    loop = _Loop(phase, fit, fits, total, len(_ACTIVE))
    _ACTIVE.append(loop)
    loop.report()
    reported = time.monotonic()
    try:
        for item in items:
            yield item
            loop.step += 1
            if time.monotonic() - reported >= REPORT_INTERVAL:
                loop.report()
                reported = time.monotonic()
    finally:
        _ACTIVE.remove(loop)
        loop.report(done=True)


def _tensors(data: Data, name: str) -> list[torch.Tensor]:
    tensors = list(data.tensors) if isinstance(data, TensorDataset) else list(data)
    if not tensors or not all(isinstance(t, torch.Tensor) for t in tensors):
        raise ParameterError(name, type(data).__name__, "a TensorDataset or a sequence of tensors")
    if len({len(t) for t in tensors}) != 1 or len(tensors[0]) == 0:
        raise ParameterError(name, [tuple(t.shape) for t in tensors], "tensors with the same, non-zero number of rows")
    return tensors


def _resident(tensors: list[torch.Tensor], device: torch.device) -> tuple[list[torch.Tensor], bool]:
    """The tensors on ``device`` (and True), or left where they are when too large (and False)."""
    size = sum(t.element_size() * t.nelement() for t in tensors)
    if device.type == "cpu" or size <= MAX_RESIDENT_BYTES:
        return [t.to(device) for t in tensors], True
    return tensors, False


def index_batches(n: int, batch_size: int, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
    """Shuffled index batches over ``range(n)`` from one seeded permutation (on the generator's device);
    the last batch may be short."""
    return torch.randperm(n, generator=generator, device=generator.device).split(batch_size)


def validation_split(n: int, fraction: float, seed: int) -> tuple[Any, Any]:
    """(training rows, validation rows) as sorted int arrays: a seeded ``fraction`` of ``range(n)`` held
    out (at least 1 row, and at least 1 row left to train on); ``fraction`` 0 holds out nothing."""
    import numpy as np

    if not isinstance(fraction, (int, float)) or isinstance(fraction, bool) or not 0 <= fraction < 1:
        raise ParameterError("validation_fraction", fraction, "a float in [0, 1)")
    rows = np.arange(n)
    if fraction == 0 or n < 2:
        return rows, rows[:0]
    held = min(n - 1, max(1, int(round(fraction * n))))
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[held:]), np.sort(order[:held])


def _snapshot(parameters: list[nn.Parameter], modules: list[nn.Module]) -> Any:
    if modules:
        return [copy.deepcopy(m.state_dict()) for m in modules]
    return [p.detach().clone() for p in parameters]


def _restore(state: Any, parameters: list[nn.Parameter], modules: list[nn.Module]) -> None:
    if modules:
        for module, values in zip(modules, state):
            module.load_state_dict(values)
    else:
        with torch.no_grad():
            for p, value in zip(parameters, state):
                p.copy_(value)


def _check_terms(values: dict[str, torch.Tensor], epoch: int, first_step: int) -> dict[str, list[float]]:
    """Per-step values as floats (one host transfer per epoch); raise at the first non-finite one."""
    out = {}
    for name, stacked in values.items():
        column = stacked.cpu().tolist()
        for i, value in enumerate(column):
            if not math.isfinite(value):
                raise TrainingDivergedError(f"training diverged at epoch {epoch}, step {first_step + i}: {name}={value}")
        out[name] = column
    return out


@torch.no_grad()
def evaluate(step: Step, tensors: list[torch.Tensor], batch_size: int, seed: int, device: torch.device,
             resident: bool = True) -> dict[str, float]:
    """The row-weighted mean of every term of ``step`` over ``tensors`` in order (no shuffling), with the
    random noise of ``step`` drawn from a fixed seed in a forked RNG (the caller's stream is unaffected)."""
    devices = [device] if device.type == "cuda" else []
    sums: dict[str, torch.Tensor] = {}
    n = len(tensors[0])
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        for start in range(0, n, batch_size):
            batch = tuple(t[start:start + batch_size] if resident else t[start:start + batch_size].to(device) for t in tensors)
            rows = len(batch[0])
            for name, value in step(batch).items():
                sums[name] = sums.get(name, 0.0) + value.detach().double() * rows
    return {name: float(value) / n for name, value in sums.items()}


# --------------------------------------------------------------------------- the loop


@dataclass(frozen=True)
class Training:
    """How ``train_loop`` trains one model: its budget, optimiser settings and stopping rule, passed as one
    explicit object.

    Attributes:
        epochs: the budget (maximum number of epochs).
        batch_size, lr: optimisation settings (the reference: Adam, lr 1e-3, batch 2048).
        seed: seeds the permutations and torch's global RNG (reparameterisation noise).
        device: ``cpu`` or ``cuda`` (modules must already be there).
        patience, min_delta, min_epochs: the stopping rule (``StoppingRule``; patience 0 = a fixed
            budget of ``epochs``); an early rule needs validation rows.
        monitor: the term whose validation value the rule watches (``loss``).
    """

    epochs: int
    batch_size: int = 2048
    lr: float = 1e-3
    seed: int = 0
    device: str = "cpu"
    patience: int = 0
    min_delta: float = 1e-3
    min_epochs: int = 1
    monitor: str = "loss"


def train_loop(parameters: Iterable[nn.Parameter], step: Step, data: Data, training: Training, *,
               modules: Iterable[nn.Module] = (), validation: Data | None = None, progress_desc: str | None = None,
               show_progress: bool | None = None, optimiser: torch.optim.Optimizer | None = None) -> pd.DataFrame:
    """Optimise ``parameters`` with Adam on ``step``'s ``"loss"`` term, as ``training`` says.

    Args:
        parameters: the trainable parameters (frozen modules are simply not listed).
        step: batch (tensors on ``training.device``) → dict of scalar tensors; ``"loss"`` is minimised,
            every term is logged.
        data: a ``TensorDataset`` (or a sequence of tensors) with the training rows; it is moved to
            the device once and batches are indexed there from a seeded permutation per epoch.
        training: the budget, optimiser settings, seed, device and stopping rule (``Training``).
        modules: modules to put in training mode during the loop and back in eval mode after
            (also what the stopping rule snapshots and restores).
        validation: held-out rows with the same layout; when given, every term is evaluated on
            them after each epoch (``val_<term>``, fixed noise, eval mode).
        progress_desc, show_progress: a progress bar over epochs (``progress``).
        optimiser: an optimiser to use instead of Adam(lr) (its parameters are ``parameters``).

    Returns:
        DataFrame with one row per epoch: ``epoch``, the batch-size-weighted mean of each term,
        ``val_<term>`` when ``validation`` is given, and ``seconds`` (wall time of the epoch, the
        validation pass excluded). ``history.attrs["convergence"]`` holds the ``Convergence``.

    Raises:
        TrainingDivergedError: a term became NaN or infinite (names the epoch, step and value).
    """
    epochs, batch_size, lr, seed = training.epochs, training.batch_size, training.lr, training.seed
    patience, min_delta, min_epochs, monitor = training.patience, training.min_delta, training.min_epochs, training.monitor
    _check_positive_int("epochs", epochs)
    _check_positive_int("batch_size", batch_size)
    if not isinstance(lr, (int, float)) or not lr > 0:
        raise ParameterError("lr", lr, "a float > 0")
    rule = stopping_rule(epochs, patience, min_delta, f"val_{monitor}", min_epochs)
    if rule.early and validation is None:
        raise ParameterError("validation", None, "held-out rows when patience > 0 (the rule watches a validation criterion)")
    device = torch.device(training.device)
    parameters = list(parameters)
    modules = list(modules)
    tensors, resident = _resident(_tensors(data, "data"), device)
    held = _resident(_tensors(validation, "validation"), device)[0] if validation is not None else None
    n = len(tensors[0])
    torch.manual_seed(seed)
    generator = torch.Generator(device=device if resident else "cpu").manual_seed(seed)
    optimiser = optimiser or torch.optim.Adam(parameters, lr=lr)
    stopper = EarlyStopping(rule, f"validation {monitor}")
    for module in modules:
        module.train()
    history = []
    step_count = 0
    try:
        bar = show_progress if progress_desc is not None else bool(show_progress)
        for epoch in progress(range(1, epochs + 1), progress_desc or "epochs", total=epochs, enabled=bar):
            started = time.perf_counter()
            values: dict[str, list[torch.Tensor]] = {}
            sizes = []
            for index in index_batches(n, batch_size, generator):
                batch = tuple(t[index] for t in tensors) if resident else tuple(t[index].to(device) for t in tensors)
                terms = step(batch)
                optimiser.zero_grad(set_to_none=True)
                terms["loss"].backward()
                optimiser.step()
                for name, value in terms.items():
                    values.setdefault(name, []).append(value.detach().float().reshape(()))
                sizes.append(len(index))
            floats = _check_terms({k: torch.stack(v) for k, v in values.items()}, epoch, step_count + 1)
            step_count += len(sizes)
            seconds = time.perf_counter() - started
            row = {"epoch": epoch, **{k: sum(v * s for v, s in zip(col, sizes)) / n for k, col in floats.items()}}
            if held is not None:
                for module in modules:
                    module.eval()
                row.update({f"val_{k}": v for k, v in evaluate(step, held, batch_size, seed + VALIDATION_SEED_OFFSET,
                                                               device).items()})
                for module in modules:
                    module.train()
            row["seconds"] = seconds
            history.append(row)
            if rule.early and rule.monitor not in row:
                raise ParameterError("monitor", monitor, "a term of step: " + ", ".join(floats))
            if stopper.update(epoch, row.get(f"val_{monitor}"), lambda: _snapshot(parameters, modules)):
                break
        if rule.early and stopper.best_state is not None:
            _restore(stopper.best_state, parameters, modules)
    finally:
        for module in modules:
            module.eval()
    frame = pd.DataFrame(history)
    frame.attrs["convergence"] = stopper.result(len(history)).as_dict()
    frame.attrs["steps"] = step_count
    return frame


def train_vae(encoder: nn.Module, decoder: nn.Module, data: Data,
              reconstruction: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], training: Training, *,
              fairness: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
              beta: float = 0.0, fairness_threshold: float = 1.0, **loop: Any) -> pd.DataFrame:
    """Train a conditional VAE with a fairness penalty: loss = reconstruction + KL + β·fairness.

    Args:
        encoder, decoder: see the module doc; moved to ``device`` here.
        data: ``TensorDataset(x, s)`` with x the network input / reconstruction target and s
            the int group code (n,).
        reconstruction: (x_hat, x) → scalar, averaged over the batch.
        fairness: (mean, logvar, z, s) → scalar dependence between latent and group (e.g. dCov²);
            always logged as ``fairness``, added to the loss only when β > ``fairness_threshold``
            (the reference adds it only when β > 1, so β = 1 is the unconstrained VAE).
        beta: weight of the fairness term.
        training: budget, optimiser settings and stopping rule (``Training``).
        loop: ``validation``, ``progress_desc``, ``show_progress`` passed to ``train_loop``.

    Returns:
        Per-epoch history with columns ``loss``, ``reconstruction``, ``kl``, ``fairness`` (when
        given), their ``val_`` twins with validation rows, ``seconds``.
    """
    if not isinstance(beta, (int, float)) or beta < 0 or beta != beta:
        raise ParameterError("beta", beta, "a float >= 0")
    encoder.to(training.device)
    decoder.to(training.device)
    use_fairness = fairness is not None and beta > fairness_threshold

    def step(batch: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
        x, s = batch[0], batch[1]
        mean, logvar = encoder(x, s)
        z = reparameterise(mean, logvar)
        recon = reconstruction(decoder(z, s), x)
        kl = gaussian_kl(mean, logvar)
        terms = {"reconstruction": recon, "kl": kl}
        loss = recon + kl
        if fairness is not None:
            if use_fairness:
                fair = fairness(mean, logvar, z, s)
                loss = loss + beta * fair
            else:
                with torch.no_grad():
                    fair = fairness(mean, logvar, z, s)
            terms["fairness"] = fair
        return {"loss": loss, **terms}

    params = list(encoder.parameters()) + list(decoder.parameters())
    return train_loop(params, step, data, training, modules=(encoder, decoder), **loop)
