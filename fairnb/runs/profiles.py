"""Profiles: the values a run takes for parameters left at ``None``.

- ``smoke``: seconds per notebook, tiny samples; for tests and CI. Numbers are not meaningful.
- ``default``: real data, fewer epochs and repetitions; the whole book on a 2-core laptop CPU.
- ``paper``: the papers' protocol (epochs, repetitions); sized for a GPU.

Each stage adds the keys it needs; a key's name is the parameter's name.
"""

from __future__ import annotations

from typing import Any

PROFILES: dict[str, dict[str, Any]] = {
    "smoke": {"repetitions": 1, "max_rows": 1500},
    "default": {"repetitions": 3, "max_rows": 0},
    "paper": {"repetitions": 10, "max_rows": 0},
}

# paper 002: default = one repetition of every method in ~30 s on one CPU thread (measured), so the
# six fair_classifier runs with 3 repetitions and the translation runs fit in 15 minutes on 2 cores.
PROFILES["smoke"].update({"train_rows": 300, "translator_epochs": 2, "translator_hidden": 16, "translator_lr": 1e-3,
                          "classifier_epochs": 2, "adversarial_epochs": 2, "laftr_epochs": 2})
PROFILES["default"].update({"train_rows": 2000, "translator_epochs": 30, "translator_hidden": 64, "translator_lr": 1e-3,
                            "classifier_epochs": 10, "adversarial_epochs": 200, "laftr_epochs": 60})
PROFILES["paper"].update({"train_rows": 0, "translator_epochs": 2000, "translator_hidden": 256, "translator_lr": 1e-4,
                          "classifier_epochs": 100, "adversarial_epochs": 50, "laftr_epochs": 1000})


def setting(profile: str, name: str) -> Any:
    """The profile's value for parameter ``name`` (KeyError names both if it has none)."""
    try:
        return PROFILES[profile][name]
    except KeyError:
        raise KeyError(f"profile {profile!r} defines no value for parameter {name!r}") from None
