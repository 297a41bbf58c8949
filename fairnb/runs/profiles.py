"""Profiles: the values a run takes for parameters left at ``None``.

- ``smoke``: seconds per notebook, tiny samples; for tests and CI. Numbers are not meaningful.
- ``default``: real data, every generator trained to its stated rule on the same (sub)sample; the whole book
  on a CPU. It was sized for a 20-minute cold book on 2 cores; measured, it takes far longer
  (``benchmarks/results/book.json``: each comparison page alone 18-22 minutes with a cold model store on a
  shared 2-core machine), because converged baselines cost what they cost.
- ``paper``: the papers' protocol (epochs, repetitions); sized for a GPU.

Each stage adds the keys it needs; a key's name is the parameter's name.
"""

from __future__ import annotations

from typing import Any

PROFILES: dict[str, dict[str, Any]] = {
    "smoke": {"repetitions": 1},
    "default": {"repetitions": 3},
    "paper": {"repetitions": 10},
}

# Images (paper 000, notebooks/paper000/07_images.md). default: Colour-MNIST digits padded to 32 x 32, a
# 4,000-image stratified sample and a few epochs (a few minutes on 2 CPU cores); paper: the
# FairDisco reference (64 x 64, all images, 1000 + 200 epochs, batch 2048), meant for a GPU: estimated
# (operation count + batch copies, not measured) at ~30 min per seed for Colour-MNIST, ~3x for CelebA.
PROFILES["smoke"].update({"image_size": 32, "max_images": 160, "image_teacher_epochs": 2, "image_student_epochs": 2,
                          "image_classifier_epochs": 2, "image_batch_size": 64})
PROFILES["default"].update({"image_size": 32, "max_images": 4000, "image_teacher_epochs": 15, "image_student_epochs": 15,
                            "image_classifier_epochs": 5, "image_batch_size": 64})
PROFILES["paper"].update({"image_size": 64, "max_images": 0, "image_teacher_epochs": 1000, "image_student_epochs": 200,
                          "image_classifier_epochs": 20, "image_batch_size": 2048})

# paper 002: default = the authors' learning rate (1e-4) and a step budget within which the translator's rule
# stops it: every 500 batches its validation criterion (the translator's objective without the adversarial term,
# on held-out validation rows) is measured, and it stops when that has not improved by 0.1 % for 3 checks, at the
# latest after 20,000 batches. Measured (width 64, batch 128, one CPU thread): German stops after about 13,500
# batches with the discriminator reading the requested group and label in every held-out translation (at 6,000:
# 0.31 and 0.49); COMPAS still improves at 15,000 (group read in 0.85) — hence the 20,000 budget. A batch costs
# about 7-10 ms of CPU. The translator is a step budget, so its cost does not grow with the rows: max_rows caps the
# rows of the classifiers and baselines, 5,000 like paper 000's max_rows (COMPAS and German whole, Adult a
# stratified 5,000). A translator is trained once per (dataset, sensitive, seed, settings) and shared by the
# fair-translation and fair-classifier pages (trained-model store). The paper profile trains the authors' 2,000 epochs.
PROFILES["smoke"].update({"max_rows": 300, "translator_epochs": 2, "translator_steps": 0, "translator_hidden": 16,
                          "translator_lr": 1e-3, "classifier_epochs": 2, "adversarial_epochs": 2, "laftr_epochs": 2})
PROFILES["default"].update({"max_rows": 5000, "translator_epochs": 80, "translator_steps": 20000, "translator_hidden": 64,
                            "translator_lr": 1e-4, "classifier_epochs": 12, "adversarial_epochs": 120, "laftr_epochs": 50})
PROFILES["paper"].update({"max_rows": 0, "translator_epochs": 2000, "translator_steps": 0, "translator_hidden": 256,
                          "translator_lr": 1e-4, "classifier_epochs": 100, "adversarial_epochs": 50, "laftr_epochs": 1000})

# paper 000 (tabular): default = the reference's batch of 2,048 rows and learning rates, every generator trained
# under the stopping rule below within generous epoch budgets, on the largest training sample that fits the
# 20-minute book (a target the measured cold book misses, see the module doc): max_rows 5,000 — COMPAS (4,933 training rows) and German (800) whole, Adult a stratified 5,000 of
# its 36,177 (the same rows for every method). Measured (one CPU thread, batch 2,048, validation 10 %, patience 20):
# a teacher stops after about 250 epochs on COMPAS (0.18 s of CPU an epoch) and 280 on German (0.02 s); on the
# whole Adult split an epoch costs about 1 s of CPU (18 batches) and the validation loss still falls by 0.05 % an
# epoch at epoch 100, so a converged Adult teacher costs several minutes — 6 of them (sex, race × 3 seeds) do not
# fit. Students stop after about 100 epochs (a few seconds). The β sweep's teachers are on the first seed only;
# β = 10^3 trains as β = 10^0 does (β·dCov² is about 1e-4 against a loss of about 8), so the sweep's middle point is 10^5.
PROFILES["smoke"].update({"fairdisco_epochs": 2, "distill_epochs": 2, "batch_size": 256, 
                          "beta_exponents": [0, 7], "lams": [1.0, 10.0]})
PROFILES["default"].update({"fairdisco_epochs": 600, "distill_epochs": 400, "batch_size": 2048, 
                            "beta_exponents": [0, 5, 7], "lams": [1.0, 5.0, 10.0]})
PROFILES["paper"].update({"fairdisco_epochs": 1000, "distill_epochs": 200, "batch_size": 2048, 
                          "beta_exponents": list(range(11)), "lams": [1.0, 2.0, 5.0, 10.0]})

# paper 000 baselines (notebooks/paper000/04_comparison.md, notebooks/paper000/06_runtime.md): they train on the same
# max_rows sample as our method. default: Decaf and FLDGMs' diffusion under the stopping rule within budgets of 300
# and 1,000 epochs (measured on COMPAS: Decaf's held-out moment distance stops improving after about 20 epochs,
# 1.1 s of CPU each; the diffusion loss on held-out codes after about 50, 0.12 s each); TabFairGAN a fixed 10
# epochs (its module follows the authors' package); paper = the publications' lengths (0), meant for a GPU.
PROFILES["smoke"].update({"tabfairgan_epochs": 1, "decaf_epochs": 1, "fldgm_epochs": 1, "timing_epochs": 1})
PROFILES["default"].update({"tabfairgan_epochs": 10, "decaf_epochs": 300, "fldgm_epochs": 1000, "timing_epochs": 3})
PROFILES["paper"].update({"tabfairgan_epochs": 0, "decaf_epochs": 0, "fldgm_epochs": 0, "timing_epochs": 20})

# paper 000 Pareto page (notebooks/paper000/09_pareto.md): TabFairGDT (not in the paper) fits in about a second on
# 4,000 Adult rows, so its lamda sweep costs little more than scoring each point.
PROFILES["smoke"]["tabfairgdt_lamdas"] = [0.0, 0.5, 1.0]
PROFILES["default"]["tabfairgdt_lamdas"] = [0.0, 0.25, 0.5, 0.75, 1.0]
PROFILES["paper"]["tabfairgdt_lamdas"] = [round(0.1 * k, 1) for k in range(11)]


# The stopping rule of every trained generator (``fairnb.nn.train.StoppingRule``; installed for the whole run by
# ``fairnb.runs.resolve``). smoke/default: a seeded 10 % of the training rows is held out and each generator trains
# until its validation criterion has not improved by 0.1 % (relative) for ``patience`` epochs (teacher, students,
# Decaf, FLDGMs' diffusion) or ``translator_patience`` checks of ``translator_check_every`` batches (paper 002), within
# the epoch / step budgets above; paper: the publications' fixed lengths, every row trains.
PROFILES["smoke"].update({"patience": 1, "validation_fraction": 0.1, "budget_multipliers": [1.0, 2.0], "reuse_models": True,
                          "translator_patience": 1, "translator_check_every": 0})
PROFILES["default"].update({"patience": 20, "validation_fraction": 0.1, "budget_multipliers": [1.0, 2.0, 4.0], "reuse_models": True,
                            "translator_patience": 3, "translator_check_every": 500})
PROFILES["paper"].update({"patience": 0, "validation_fraction": 0.0, "budget_multipliers": [0.25, 0.5, 1.0], "reuse_models": True,
                          "translator_patience": 0, "translator_check_every": 0})

# The runner's time limit per run (seconds, kernel start to last cell; 0 = none), reported as a failed
# run when exceeded; ``fairnb run --timeout`` overrides it. smoke: a notebook takes seconds to a minute;
# default: the longest run takes minutes on 2 cores, so an hour only stops a hung kernel; paper:
# no limit (the papers' protocol can train for days).
PROFILES["smoke"]["run_timeout"] = 900
PROFILES["default"]["run_timeout"] = 3600
PROFILES["paper"]["run_timeout"] = 0


def setting(profile: str, name: str) -> Any:
    """The profile's value for parameter ``name`` (KeyError names both if it has none)."""
    try:
        return PROFILES[profile][name]
    except KeyError:
        raise KeyError(f"profile {profile!r} defines no value for parameter {name!r}") from None


# Values that differ between the two papers under one profile, by the templates' folder under notebooks/
# (``paper000``, ``paper002``). The paper profile repeats each experiment as its paper did: paper 000
# ten times, paper 002 five times. The runner injects these for parameters the run leaves at ``None``.
PART_PROFILES: dict[str, dict[str, dict[str, Any]]] = {
    "smoke": {"paper000": {"max_rows": 600}},  # paper 000's smoke runs need a few hundred rows per group and label
    "paper": {"paper002": {"repetitions": 5}},
}


def part_values(profile: str, part: str) -> dict[str, Any]:
    """The values of ``profile`` that are particular to the templates of ``part`` (may be empty)."""
    return dict(PART_PROFILES.get(profile, {}).get(part, {}))
