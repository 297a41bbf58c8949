"""Paper 002 benchmark: epoch time of the VAE-GAN translator on Adult, and one full repetition.

Measures (seconds, on CPU with one torch thread as the notebooks use it, and on CUDA when present):

- one translator epoch on the default profile's Adult training sample (``max_rows`` rows, width 64);
- one translator epoch on the whole Adult training split (70 %, width 256, the paper profile);
- one repetition of every method of ``fair_classifier`` under the default profile (Adult, sex).

Run: ``python benchmarks/bench_paper002.py``; writes ``benchmarks/results/paper002.json``.
"""

from __future__ import annotations

import time

import torch

import fairnb.data
import fairnb.paper002.study as p002
from fairnb.paper002.classifier import ClassifierSettings
from fairnb.paper002.translator import TranslatorSettings
from fairnb.book.performance import save
from fairnb.runs.profiles import PROFILES


def epoch_seconds(data: p002.Prepared, settings: TranslatorSettings, device: str) -> float:
    translator = p002.train_translator(data, settings=settings, seed=0, device=device)
    return translator.fit_seconds_ / settings.epochs


def main() -> None:
    dataset = fairnb.data.load("adult")
    default = PROFILES["default"]
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    measurements = []
    sample = p002.prepare(dataset, sensitive="sex", seed=0, max_rows=default["max_rows"])
    full = p002.prepare(dataset, sensitive="sex", seed=0, max_rows=0)
    for device in devices:
        settings = TranslatorSettings(epochs=3, hidden=default["translator_hidden"], lr=default["translator_lr"])
        value = epoch_seconds(sample, settings, device)
        measurements.append({"name": f"translator epoch, Adult {len(sample.x['train']):,} rows, width 64", "value": value,
                             "unit": "s", "device": device})
        settings = TranslatorSettings(epochs=1, hidden=PROFILES["paper"]["translator_hidden"])
        value = epoch_seconds(full, settings, device)
        measurements.append({"name": f"translator epoch, Adult {len(full.x['train']):,} rows, width 256", "value": value,
                             "unit": "s", "device": device,
                             "note": "the paper profile's 2000 epochs take this x 2000"})
    settings = p002.StudySettings(
        TranslatorSettings(epochs=default["translator_epochs"], steps=default["translator_steps"],
                           hidden=default["translator_hidden"], lr=default["translator_lr"]),
        ClassifierSettings(epochs=default["classifier_epochs"]), adversarial_epochs=default["adversarial_epochs"],
        laftr_epochs=default["laftr_epochs"], max_rows=default["max_rows"], device="cpu")
    started = time.perf_counter()
    p002.run_repetition(dataset, sensitive="sex", seed=0, settings=settings)
    measurements.append({"name": "fair_classifier: one repetition of every method, Adult, default profile",
                         "value": time.perf_counter() - started, "unit": "s", "device": "cpu",
                         "note": "the default profile runs 3 repetitions per (dataset, sensitive) run"})
    for m in measurements:
        print(f"{m['name']} [{m['device']}]: {m['value']:.2f} {m['unit']}")
    print(save("paper002", measurements))


if __name__ == "__main__":
    main()
