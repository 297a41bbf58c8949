"""What computes a result: the files whose change can change a run's numbers, and one digest of them.

A results snapshot records these files' sha256 (``fairnb snapshot``); ``fairnb snapshot --check`` and the
"code unchanged" note on the pages built from a snapshot compare them with the files now. The files are the
package's code that computes results (``fairnb/data``, ``nn``, ``metrics``, ``paper000``, ``paper002`` and
``runs``, the profiles included), the vendored data's recorded checksums, the notebook templates and the run
manifest — not the book's prose, page builders, command line or tests.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from fairnb.runs.manifest import ROOT

RESULT_PACKAGES = ("data", "nn", "metrics", "paper000", "paper002", "runs")
"""The ``fairnb`` subpackages whose code computes results."""

RESULT_DATA = ("fairnb/datafiles/SHA256SUMS",)
"""Files that pin the vendored data a run reads (their checksums)."""


def result_code_files(root: Path = ROOT) -> list[Path]:
    """Every file whose change can change a result, sorted: the ``RESULT_PACKAGES``' Python files, ``RESULT_DATA``,
    the templates under ``notebooks/`` and ``notebooks/manifest.yml`` (hidden folders and caches left out)."""
    files: list[Path] = []
    for package in RESULT_PACKAGES:
        files += (root / "fairnb" / package).rglob("*.py")
    files += [root / name for name in RESULT_DATA]
    notebooks = root / "notebooks"
    files += [p for p in notebooks.rglob("*") if p.suffix in (".md", ".ipynb") and p.stem.upper() != "README"]
    files.append(notebooks / "manifest.yml")
    return sorted({p for p in files if p.is_file() and not any(part.startswith((".", "__pycache__"))
                                                               for part in p.relative_to(root).parts)})


def result_code_hashes(root: Path = ROOT) -> dict[str, str]:
    """Path (relative to ``root``, with ``/``) → sha256 of its bytes, for every ``result_code_files`` file."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in result_code_files(root)}


def result_digest(hashes: dict[str, str] | None = None) -> str:
    """One sha256 over ``hashes`` (default: the files now), names and contents, in path order."""
    hashes = result_code_hashes() if hashes is None else hashes
    digest = hashlib.sha256()
    for name in sorted(hashes):
        digest.update(f"{name}\0{hashes[name]}\n".encode())
    return digest.hexdigest()


def code_changes(then: dict[str, str], now: dict[str, str] | None = None) -> list[str]:
    """The files that differ between two ``result_code_hashes``: ``"<path> (changed|added|removed)"``, sorted."""
    now = result_code_hashes() if now is None else now
    changes = [f"{name} (changed)" for name in then.keys() & now.keys() if then[name] != now[name]]
    changes += [f"{name} (added)" for name in now.keys() - then.keys()]
    changes += [f"{name} (removed)" for name in then.keys() - now.keys()]
    return sorted(changes)


__all__ = ["RESULT_DATA", "RESULT_PACKAGES", "code_changes", "result_code_files", "result_code_hashes", "result_digest"]
