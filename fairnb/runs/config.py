"""Inside a notebook: ``resolve`` the parameters cell, ``report`` the run's metrics.

```python
config = fairnb.runs.resolve(globals())   # validates, fills profile values, seeds everything
...
fairnb.runs.report({"dpr": [0.91, 0.93, 0.92], "accuracy": 0.81})
```
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np
import pandas as pd

from fairnb.errors import ParameterError
from fairnb.runs.params import PARAMS, validate
from fairnb.runs.profiles import PROFILES

if TYPE_CHECKING:
    from fairnb.nn.train import TrainingRule

METRICS_KEY = "fairnb_metrics"
RESOLVED_KEY = "fairnb_resolved"  # every parameter value the run used, attached beside its metrics
_RESOLVED: dict[str, Any] = {}    # the last ``resolve`` of this kernel: what ``report`` records


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) and ask torch for deterministic kernels."""
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def resolve_device(device: str) -> str:
    """``auto`` → ``cuda`` when a GPU is visible, else ``cpu``; ``cuda`` without a GPU raises."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ParameterError("device", device, "auto, cpu (no CUDA device is visible)")
    return device


@dataclass(frozen=True)
class Config:
    """The resolved, validated parameters of one run (attribute access: ``config.beta_exponent``)."""

    values: dict[str, Any]
    from_profile: tuple[str, ...] = field(default=())
    # the stopping rule and model reuse every generator of the run gets (``training_rule``); read it as ``training``
    rule: Any = None

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(f"run configuration has no parameter {name!r}") from None

    @property
    def seeds(self) -> list[int]:
        """One seed per repetition: seed, seed + 1, …"""
        return [self.values["seed"] + r for r in range(self.values.get("repetitions") or 1)]

    @property
    def training(self) -> "TrainingRule":
        """The run's ``fairnb.nn.train.TrainingRule`` (a configuration built by hand: a fixed budget, trained afresh)."""
        from fairnb.nn.train import FIXED_BUDGET

        return self.rule if self.rule is not None else FIXED_BUDGET

    def table(self) -> pd.DataFrame:
        """The run configuration as a table: parameter, value, meaning (for the book)."""
        rows = []
        for name, value in self.values.items():
            note = PARAMS[name].help if name in PARAMS else ""
            if name in self.from_profile:
                note += f" (from profile {self.values.get('profile')})"
            rows.append({"parameter": name, "value": value, "meaning": note})
        return pd.DataFrame(rows).set_index("parameter").rename_axis(None)

    def _repr_html_(self) -> str:
        return self.table().to_html()


def resolve(namespace: Mapping[str, Any]) -> Config:
    """Validate every known parameter found in ``namespace`` (a notebook's ``globals()``).

    ``None`` values of profile-backed parameters take the profile's value. Checks the
    sensitive attribute against the dataset, resolves ``device``, seeds everything from
    ``seed``. Raises ``ParameterError`` naming the parameter, value and allowed values.
    """
    from fairnb.data import SENSITIVE

    values = {name: validate(name, namespace[name]) for name in PARAMS if name in namespace and not name.startswith("_")}
    profile = values.get("profile", "default")
    from_profile = []
    for name, value in list(values.items()):
        if value is None and PARAMS[name].profile_default:
            values[name] = validate(name, PROFILES[profile][name])
            from_profile.append(name)
    dataset, sensitive = values.get("dataset"), values.get("sensitive")
    if dataset is not None and sensitive is not None and sensitive not in SENSITIVE[dataset]:
        raise ParameterError("sensitive", sensitive, f"for dataset {dataset}: " + ", ".join(SENSITIVE[dataset]))
    if "device" in values:
        values["device"] = resolve_device(values["device"])
    seed_everything(values.get("seed", 0))
    training = training_rule(values, profile)
    _RESOLVED.clear()
    _RESOLVED.update(json.loads(json.dumps({"profile": profile, **values}, default=str)))
    return Config(values=values, from_profile=tuple(from_profile), rule=training)


def training_rule(values: Mapping[str, Any], profile: str) -> "TrainingRule":
    """The run's stopping rule and model reuse (``fairnb.nn.train.TrainingRule``): ``patience``,
    ``validation_fraction`` and ``reuse_models`` from the template's parameters when it has them, else from the
    profile. Every study of the run passes it to the generators it builds (``Config.training``), so every
    generator of a page trains under the same stated rule, and the trained-model store keys carry it."""
    from fairnb.nn.train import TrainingRule

    chosen = {name: values[name] if values.get(name) is not None else PROFILES[profile].get(name)
              for name in ("patience", "validation_fraction")}
    reuse = values.get("reuse_models", PROFILES[profile].get("reuse_models"))
    return TrainingRule(patience=chosen["patience"] or 0, validation_fraction=chosen["validation_fraction"] or 0.0,
                        reuse=bool(reuse))


def summarise(values: Any) -> dict[str, float]:
    """A number or a list of per-repetition numbers → ``{"mean", "std", "n", "values"}`` (std with
    ddof=1; ``values`` keeps the per-repetition numbers, in seed order, for paired comparisons)."""
    array = np.atleast_1d(np.asarray(values, dtype=float))
    std = float(array.std(ddof=1)) if array.size > 1 else 0.0
    return {"mean": float(array.mean()), "std": std, "n": int(array.size),
            "values": [float(v) if math.isfinite(v) else None for v in array]}


def report(metrics: Mapping[str, Any], title: str = "Results") -> None:
    """Show the run's headline metrics (one table, displayed once) and attach them to that output for the
    results record.

    ``metrics``: name → number, or list of per-repetition numbers. The runner reads the
    ``fairnb_metrics`` metadata of this output into ``results/<run>.json``. Returns nothing, so a cell that
    ends with ``report(...)`` shows the table once, not a second time as the cell's value.
    """
    from IPython.display import display

    summary = {name: summarise(value) for name, value in metrics.items()}
    for name, value in summary.items():
        if not all(math.isfinite(v) for v in (value["mean"], value["std"])):
            summary[name] = {"mean": None, "std": None, "n": value["n"], "values": value["values"]}
    table = pd.DataFrame(summary, index=["mean", "std", "n"]).T.reindex(columns=["mean", "std", "n"])
    table.index.name = "metric"
    display(table.style.format({"mean": "{:.3f}", "std": "{:.3f}", "n": "{:.0f}"}, na_rep="n/a").set_caption(title),
            metadata={METRICS_KEY: json.loads(json.dumps(summary)), RESOLVED_KEY: dict(_RESOLVED)})
