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


def setting(profile: str, name: str) -> Any:
    """The profile's value for parameter ``name`` (KeyError names both if it has none)."""
    try:
        return PROFILES[profile][name]
    except KeyError:
        raise KeyError(f"profile {profile!r} defines no value for parameter {name!r}") from None
