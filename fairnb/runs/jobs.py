"""Preparing runs: every parameter validated and every cache key computed before anything executes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterable

from fairnb.errors import ParameterError, one_of
from fairnb.runs.cache import cache_key, effective_parameters, source_digest
from fairnb.runs.manifest import Run, check_overrides, template_parameters
from fairnb.runs.store import Job, Outputs

def template_datasets(path: Path) -> tuple[str, ...] | None:
    """The datasets a template lists in the comment of its ``dataset`` parameter (``None``: no such
    parameter or no dataset named, i.e. no restriction)."""
    from fairnb.runs.params import DATASETS

    declared = template_parameters(path)
    if "dataset" not in declared:
        return None
    comment = declared["dataset"].comment
    named = tuple(d for d in DATASETS if re.search(rf"(?<![A-Za-z0-9_]){re.escape(d)}(?![A-Za-z0-9_])", comment))
    return named or None


def without_explicit_defaults(run: Run, parameters: dict[str, Any]) -> dict[str, Any]:
    """``parameters`` less the overrides that only repeat the template's default (``-p seed 0`` where the
    template says ``seed = 0`` and the manifest sets nothing): the same run, so the same cache key and record.
    Values compare as JSON, so ``1`` and ``1.0`` or ``True`` stay different."""
    declared = template_parameters(run.template_path)
    return {name: value for name, value in parameters.items()
            if name in run.parameters or name not in declared
            or json.dumps(value, sort_keys=True) != json.dumps(declared[name].default, sort_keys=True)}


def _cuda_visible() -> bool:
    import torch

    return torch.cuda.is_available()


def prepare(runs: Iterable[Run], profile: str, overrides: dict[str, Any] | None = None, *,
            timeout: int | None = None, check_device: bool = True, outputs: Outputs | None = None,
            records: Path | None = None, note: str = "") -> list[Job]:
    """Validate every run's parameters (with ``overrides``) and compute cache keys — no compute yet.

    Refuses up front, with the parameter, the value and what is allowed: unknown or ill-typed values,
    a ``profile`` override that contradicts ``profile``, a dataset the template does not list, and
    ``device=cuda`` without a visible GPU (``check_device=False`` skips this, for runs that execute on
    another machine). ``timeout``: seconds per run (0: none); default the profile's ``run_timeout``.
    ``outputs`` (default ``Outputs.current()``), ``records`` and ``note``: see ``Job``.
    """
    from fairnb.runs.params import validate
    from fairnb.runs.profiles import PROFILES, part_values

    validate("profile", profile)
    overrides = dict(overrides or {})
    if "profile" in overrides:
        given = validate("profile", overrides.pop("profile"))
        if given is not None and given != profile:
            raise ParameterError("profile", given, f"{profile}, the profile of this invocation (give it once, with --profile)",
                                 f"conflicts with --profile {profile}")
    limit = validate("run_timeout", PROFILES[profile]["run_timeout"] if timeout is None else timeout)
    fairnb_source = source_digest()
    jobs, cuda_checked = [], False
    for run in runs:
        parameters = without_explicit_defaults(run, check_overrides(run, overrides))
        values = effective_parameters(run, parameters)
        for name, value in part_values(profile, run.template_path.parent.name).items():
            if name in values and values[name] is None:  # declared by the template, left to the profile
                parameters[name] = values[name] = validate(name, value)
        allowed = template_datasets(run.template_path)
        if allowed is not None and values.get("dataset") not in allowed:
            raise ParameterError("dataset", values.get("dataset"), f"for template {run.template}: {one_of(allowed)}")
        if check_device and values.get("device") == "cuda" and not cuda_checked:
            if not _cuda_visible():
                raise ParameterError("device", "cuda", "auto or cpu (no CUDA device is visible on this machine)")
            cuda_checked = True
        where = outputs or Outputs.current()
        key = cache_key(run, parameters, profile, fairnb_source, records=records, note=note, results=where.results)
        jobs.append(Job(run, parameters, profile, key, where, float(limit) if limit else None,
                        source=fairnb_source, records=records, note=note))
    return jobs


def resolved_parameters(job: Job) -> dict[str, Any]:
    """Every parameter the notebook will use: template defaults, manifest values, overrides, and the
    profile's values for those left at ``None``."""
    from fairnb.runs.params import PARAMS
    from fairnb.runs.profiles import PROFILES

    values = {**effective_parameters(job.run, job.parameters), "profile": job.profile}
    for name, value in values.items():
        if value is None and name in PARAMS and PARAMS[name].profile_default:
            values[name] = PROFILES[job.profile].get(name)
    return values
