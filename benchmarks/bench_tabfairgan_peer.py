"""Our TabFairGAN against the authors' package (``tabfairgan`` 0.1.0 from PyPI, extra ``peers``).

Both are fitted on the same Adult training rows (the seeded 80/20 split of our runs, 3,000
stratified training rows, s = sex) with the same epochs, fairness epochs and λ_f, for several
seeds, and scored the same way (``fairnb.paper000.baselines.peers``): the demographic-parity gap
of the generated records, and accuracy and DPR of a random forest trained on the generated records
and tested on 5,000 real test records.

Agreement rule, fixed before the first comparison: per metric, |mean_ours − mean_authors| ≤
max(2 · pooled std over seeds, 0.02).

Settings: 100 epochs, the last 50 with the fairness penalty, λ_f = 0.5, seeds 0, 1, 2. The
fairness phase is long so that its weight shows: with the authors' critic (d outputs averaged, the
gradient penalty on their sum) the critic's share of the generator's gradient is about 1/d of a
one-output critic's, so the same λ_f weighs about d times more (d ≈ 100 on Adult). Our previous
critic (one output) kept the data's parity gap (0.22 against the authors' 0.05) and disagreed on
all three metrics; at 30 epochs (10 fair) neither generator has learned the label's dependence on
sex and both agree trivially.

Run from the repository root (after ``pip install -e ".[peers]"``), about 15 CPU-minutes:
``python benchmarks/bench_tabfairgan_peer.py``. Prints the per-seed values and the agreement table
and writes ``benchmarks/results/tabfairgan_peer.json``, entries keyed by ``--label``: an older
version of our code (``PYTHONPATH=<its source tree> python benchmarks/bench_tabfairgan_peer.py
--label "before the fix (38a9dd3)" --commit 38a9dd3``) adds to the file instead of replacing it.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import time
from pathlib import Path

import torch

from fairnb.paper000.baselines.peers import FLOOR, PEER_VERSION, agreement, compare_tabfairgan

RESULTS = Path(__file__).resolve().parent / "results" / "tabfairgan_peer.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="repetitions (seeds 0..n-1)")
    parser.add_argument("--epochs", type=int, default=100, help="total epochs of both implementations")
    parser.add_argument("--fair-epochs", type=int, default=50, help="epochs of the fairness phase (the last ones)")
    parser.add_argument("--lambda-fair", type=float, default=0.5, help="λ_f (the authors' Adult value)")
    parser.add_argument("--max-rows", type=int, default=3000, help="training rows")
    parser.add_argument("--label", default="current", help="name of this entry in the results file")
    parser.add_argument("--commit", default=None, help="commit of the fairnb code under test (default: the repository's HEAD)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    started = time.perf_counter()
    values = compare_tabfairgan("adult", "sex", max_rows=args.max_rows, epochs=args.epochs, fair_epochs=args.fair_epochs,
                                lambda_fair=args.lambda_fair, seeds=range(args.seeds))
    table = agreement(values)
    print(values.round(4).to_string(index=False))
    print(table.round(4).to_string(index=False))
    commit = args.commit
    if commit is None:
        try:
            commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            commit = "unknown"
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[args.label] = {
        "settings": {"dataset": "adult", "sensitive": "sex", "max_rows": args.max_rows, "epochs": args.epochs,
                     "fair_epochs": args.fair_epochs, "lambda_fair": args.lambda_fair, "seeds": args.seeds,
                     "classifier": "random_forest", "test_rows": 5000, "peer": f"tabfairgan=={PEER_VERSION}"},
        "rule": f"agree when |mean_ours - mean_authors| <= max(2 * pooled std, {FLOOR})",
        "per_seed": values.to_dict(orient="records"),
        "agreement": table.to_dict(orient="records"),
        "all_agree": bool(table.agree.all()),
        "seconds": round(time.perf_counter() - started, 1),
        "commit": commit, "machine": platform.machine(), "torch": torch.__version__,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"{'all agree' if table.agree.all() else 'DISAGREE'}; wrote {RESULTS} [{args.label}]")


if __name__ == "__main__":
    main()
