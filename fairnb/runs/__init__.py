"""Run orchestration: parameters, profiles, the run manifest, papermill execution, cache, results.

In a notebook: ``config = fairnb.runs.resolve(globals())`` and ``fairnb.runs.report(metrics)``.
From the shell: ``fairnb run``, ``fairnb book`` (see ``fairnb.cli``).
"""

from fairnb.runs.config import Config, report, resolve, seed_everything, summarise
from fairnb.runs.params import PARAMS, Param, validate
from fairnb.runs.profiles import PROFILES

__all__ = ["Config", "PARAMS", "PROFILES", "Param", "report", "resolve", "seed_everything", "summarise", "validate"]
