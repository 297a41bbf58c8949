"""The claims ledger's page: the compact verdict table, the folded per-claim detail and their HTML, and the page's
side tables (each claim's source, the degenerate rows, the metric names the ledger still lacks).

``fairnb.book.claims`` evaluates the ledger (``evaluate`` → one row per claim, scope and coding); this module presents
that frame, so the rules and the page can be read apart.
"""

from __future__ import annotations

import html
import math
import re
from collections import Counter
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from fairnb.book.claims import (_COMPOSITE, CLASSIFIER_TEMPLATES, CODINGS, HEADLINE_CODING, NO_CODING, Missing, Store, _coded,
                                _default, _method_of, _refs, _split, beyond_paper, degenerate_seeds, ledger, plain_coding,
                                record_codings)
from fairnb.metrics import claims as rule


def counts(frame: pd.DataFrame) -> dict[str, int]:
    """Number of ledger rows per verdict (every verdict listed, zeros included) and in all."""
    found = Counter(frame["verdict"])
    out = {verdict.replace(" ", "_"): int(found.get(verdict, 0)) for verdict in rule.VERDICTS}
    out["rows"] = int(len(frame))
    return out


def _count_text(verdicts: Iterable[str]) -> str:
    found = Counter(verdicts)
    return ", ".join(f"{found[v]} {v}" for v in rule.VERDICTS if found.get(v)) or "—"


def verdict_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The compact table: one row per claim, the verdicts first (its ledger rows counted under the headline,
    favourable, label coding), then the claim, the counts under the reference code's coding where it matters,
    and the profile of the records."""
    rows = []
    for group, part in _claim_groups(frame):
        headline = part[part.label_coding.isin([HEADLINE_CODING, NO_CODING])]
        reference = part[part.label_coding == "unfavourable"]
        profiles = sorted(p for p in set(part.profile) if p != "—")
        rows.append({"verdicts": _count_text(headline.verdict), "claim": f"{group}: {part.claim.iloc[0]}",
                     "reference coding": _count_text(reference.verdict) if len(reference) else "—",
                     "profile": ", ".join(profiles) or "—"})
    return pd.DataFrame(rows, columns=VERDICT_COLUMNS)


VERDICT_COLUMNS = ["verdicts", "claim", "reference coding", "profile"]


def _claim_groups(frame: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """The ledger rows of each claim (``000-1`` of ``000-1.dpr``), in ledger order."""
    frame = frame.assign(group=frame["id"].str.split(".").str[0])
    return list(frame.groupby("group", sort=False))


def _format_interval(row: pd.Series) -> str:
    """``+0.012 [−0.034, +0.058]``, the mean alone when the interval is undefined, ``—`` when nothing was
    compared. No break inside the bracket (non-breaking spaces): it wraps, if at all, before it."""
    if row.verdict == rule.NOT_EVALUATED or not math.isfinite(row.mean_difference):
        return "—"
    if not (math.isfinite(row.low) and math.isfinite(row.high)):
        return f"{row.mean_difference:+.3f}"
    return f"{row.mean_difference:+.3f} [{row.low:+.3f},\u00a0{row.high:+.3f}]"


def detail_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Every ledger row as one flat table: id, where, metric, coding, mean difference with its interval and the
    interval's kind, n, θ, verdict, profile and note (the claim sentences are in ``verdict_table``; the page
    shows the rows folded per claim, ``ledger_html``)."""
    return pd.DataFrame({
        "id": frame["id"], "where": frame["scope"], "metric": frame["metric"], "coding": frame["label_coding"],
        "difference [95 % CI]": frame.apply(_format_interval, axis=1), "interval": frame["interval_kind"], "n": frame["n"],
        "θ": frame["threshold"].map(lambda v: f"{v:+g}" if v else "0"), "verdict": frame["verdict"], "profile": frame["profile"],
        "note": frame["note"],
    })


def _verdict_badges(verdicts: Iterable[str]) -> str:
    """``2 inconclusive, 6 degenerate`` as coloured badges (``fairnb.css``), each unbreakable."""
    found = Counter(verdicts)
    badges = [f'<span class="fairnb-verdict fairnb-{v.replace(" ", "-")}">{found[v]}\u00a0{html.escape(v)}</span>'
              for v in rule.VERDICTS if found.get(v)]
    return " ".join(badges) or "—"


def _cell(text: Any, css: str = "") -> str:
    """A table cell; a line may end after a comma, a slash or an underscore (a long metric name, ``mean(a,b,c)`` or
    ``l1/favourable_positive_rate_<group>``, breaks there rather than widening the table; ``<wbr>``, so a copied
    name has no extra character)."""
    text = re.sub(r"([,/_])(?=\S)", r"\1<wbr>", html.escape(str(text)))
    return f'<td class="{css}">{text}</td>' if css else f"<td>{text}</td>"


def _table(head: list[str], rows: list[str], css: str) -> str:
    header = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    return (f'<table class="fairnb-table {css}"><thead><tr>{header}</tr></thead><tbody>'
            + "".join(f"<tr>{row}</tr>" for row in rows) + "</tbody></table>")


def verdict_html(frame: pd.DataFrame) -> str:
    """``verdict_table`` as HTML for the page: one row per claim, the verdicts first as coloured badges (favourable
    label coding; the reference code's coding in its own column), then the claim; fits the text column."""
    rows = []
    for (group, part), shown in zip(_claim_groups(frame), verdict_table(frame).itertuples(index=False)):
        headline = part[part.label_coding.isin([HEADLINE_CODING, NO_CODING])]
        reference = part[part.label_coding == "unfavourable"]
        rows.append(f'<td class="fairnb-verdicts">{_verdict_badges(headline.verdict)}</td>'
                    f'<td><a href="#claim-{html.escape(group)}"><strong>{html.escape(group)}</strong></a> '
                    f"{html.escape(str(part.claim.iloc[0]))}</td>"
                    f'<td class="fairnb-verdicts">{_verdict_badges(reference.verdict) if len(reference) else "—"}</td>'
                    + _cell(shown.profile, "fairnb-nowrap"))
    return _table(["verdicts", "claim", "reference coding", "profile"], rows, "fairnb-ledger-claims") + power_note(frame)


def power_note(frame: pd.DataFrame) -> str:
    """One paragraph on how much the ledger could decide: decided rows of the evaluated ones, and — when rows are
    inconclusive — the repetitions behind them and the t quantile of their paired 95 % interval, so that an
    inconclusive row reads as too few runs to decide, not as a verdict. Empty when nothing was evaluated."""
    from scipy import stats

    evaluated = frame[~frame.verdict.isin([rule.NOT_EVALUATED, rule.DEGENERATE])]
    if evaluated.empty:
        return ""
    decided = int(evaluated.verdict.isin([rule.SUPPORTED, rule.CONTRADICTED]).sum())
    text = f"Decided: {decided} of {len(evaluated)} evaluated ledger rows (supported or contradicted)."
    open_rows = evaluated[evaluated.verdict == rule.INCONCLUSIVE]
    pairs = open_rows.n[open_rows.n >= rule.MIN_PAIRS]
    if len(pairs):
        n = int(pairs.median())
        text += (f" The {len(open_rows)} inconclusive rows rest on about {n} paired repetitions each; a paired 95 % interval"
                 f" then spans ± {stats.t.ppf(0.5 + rule.LEVEL / 2, n - 1):.2f} standard errors, so an inconclusive row"
                 " says the runs are too few to decide at this profile (power), not that the claim fails; more"
                 " repetitions, the rule unchanged, decide more of them.")
    return f'<p class="fairnb-power">{html.escape(text)}</p>'


NOWRAP = ("id", "where", "coding", "interval", "profile", "θ", "n", "seeds", "claim")


def table_html(table: pd.DataFrame, fold: str = "") -> str:
    """A table of this module as HTML for the page (class ``fairnb-table``): as wide as the text column, long
    text wrapping, short columns (``NOWRAP``) unbroken, verdict cells coloured. ``fold``: the table goes into
    a ``<details>`` fold with this summary."""
    rows = []
    for values in table.itertuples(index=False):
        cells = []
        for column, value in zip(table.columns, values):
            if column == "verdict":
                cells.append(f'<td class="fairnb-verdict-cell fairnb-{str(value).replace(" ", "-")}">{html.escape(str(value))}</td>')
            else:
                cells.append(_cell("" if value is None or value != value else value, "fairnb-nowrap" if column in NOWRAP else ""))
        rows.append("".join(cells))
    out = _table([str(c) for c in table.columns], rows, "fairnb-ledger-plain")
    return f'<details class="fairnb-claim"><summary>{html.escape(fold)}</summary>{out}</details>' if fold else out


def ledger_html(frame: pd.DataFrame) -> str:
    """Every ledger row, folded per claim: one ``<details>`` per claim whose summary shows its verdicts (headline
    label coding, as ``verdict_html``) and its sentence; inside, where the paper says it and how the ledger compares, then one compact row per (where,
    metric, label coding) — verdict first, the difference with its 95 % interval, n, θ — and the notes, each said
    once (rows with the same note point to the same number)."""
    blocks = []
    for group, part in _claim_groups(frame):
        notes: dict[str, int] = {}
        rows = []
        for row in part.itertuples(index=False):
            number = notes.setdefault(row.note, len(notes) + 1) if row.note else None
            interval = _format_interval(pd.Series(row._asdict()))
            kind = " (Welch, unpaired)" if str(row.interval_kind).startswith("Welch") and interval != "—" else ""
            rows.append(f'<td class="fairnb-verdict-cell fairnb-{row.verdict.replace(" ", "-")}">{html.escape(row.verdict)}</td>'
                        + _cell(row.scope, "fairnb-nowrap") + _cell(row.metric) + _cell(row.label_coding, "fairnb-nowrap")
                        + _cell(interval + kind, "fairnb-number") + _cell(row.n, "fairnb-number")
                        + _cell(f"{row.threshold:+g}" if row.threshold else "0", "fairnb-number")
                        + (f'<td><a href="#note-{group}-{number}">{number}</a></td>' if number else "<td></td>"))
        profiles = sorted(p for p in set(part.profile) if p != "—")
        how = "; ".join(dict.fromkeys(h for h in part.how if h))
        about = (f"<p><strong>Source:</strong> {html.escape(str(part.source.iloc[0]))}. "
                 + (f"<strong>Compared:</strong> {html.escape(how)}. " if how else "")
                 + f"<strong>Profile of the records:</strong> {html.escape(', '.join(profiles) or 'none (no record)')}.</p>")
        listed = "".join(f'<li id="note-{group}-{number}">{html.escape(note)}</li>' for note, number in notes.items())
        headline = part[part.label_coding.isin([HEADLINE_CODING, NO_CODING])]
        blocks.append(
            f'<details class="fairnb-claim" id="claim-{html.escape(group)}"><summary>'
            f'<span class="fairnb-verdicts">{_verdict_badges(headline.verdict)}</span> '
            f"<strong>{html.escape(group)}</strong> {html.escape(str(part.claim.iloc[0]))}</summary>"
            + about
            + _table(["verdict", "where", "metric", "coding", "difference [95 % CI]", "n", "θ", "note"], rows,
                     "fairnb-ledger-rows")
            + (f'<ol class="fairnb-notes">{listed}</ol>' if listed else "")
            + "</details>")
    return "\n".join(blocks)


VERDICT_STYLES = {rule.SUPPORTED: "background-color: #dff0d8", rule.CONTRADICTED: "background-color: #f8d7da",
                  rule.INCONCLUSIVE: "background-color: #f3f3f3", rule.DEGENERATE: "background-color: #fff3cd",
                  rule.NOT_EVALUATED: "color: #777777"}


def styled(table: pd.DataFrame):
    """A table of this module for the page: no index, verdict cells coloured, long text columns given
    room (so a claim never wraps one word per line)."""
    style = table.style.hide(axis="index")
    if "verdict" in table.columns:
        style = style.map(lambda v: VERDICT_STYLES.get(v, ""), subset=["verdict"])
    for column, width in (("claim", "26em"), ("statement", "22em"), ("note", "30em"), ("source", "16em"),
                          ("verdicts", "13em"), ("reference coding", "11em"), ("difference [95 % CI]", "13em")):
        if column in table.columns:
            style = style.set_properties(subset=[column], **{"min-width": width, "text-align": "left"})
    for column in ("id", "where", "metric", "coding", "interval", "profile", "θ", "n", "run", "method", "seeds"):
        if column in table.columns:
            style = style.set_properties(subset=[column], **{"white-space": "nowrap"})
    return style


def sources_table(claims: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per claim: the sentence, where the paper says it, and how the ledger compares."""
    claims = ledger() if claims is None else claims
    claims = claims.assign(group=claims["id"].str.split(".").str[0])
    rows = []
    for group, part in claims.groupby("group", sort=False):
        rows.append({"claim": group, "statement": part.claim.iloc[0], "source": part.source.iloc[0],
                     "metrics": ", ".join(dict.fromkeys(part.metric)), "rule": ", ".join(dict.fromkeys(part.rule))})
    return pd.DataFrame(rows)


def degenerate_rows(records_folder: Path | str | None = None) -> pd.DataFrame:
    """Every (run, method, label coding) with degenerate seeds, in the records of the templates that
    score a classifier: run, method, coding, seeds ("k of n"), reason. (The ledger leaves a seed out
    under both codings when it is degenerate under either.) Methods a paper does not compare
    (``beyond_paper``) are not listed: they are not part of its claims."""
    store = Store(records_folder)
    excluded = set(beyond_paper("000"))
    rows = []
    for template in CLASSIFIER_TEMPLATES:
        for record in store.records(template):
            metrics = record.get("metrics") or {}
            prefixes = sorted({name.rsplit("/", 1)[0] + "/" for name in metrics if "/" in name
                               and _method_of(name) not in excluded})
            for prefix in prefixes:
                n = max((len((metrics[k] or {}).get("values") or [0]) for k in metrics if k.startswith(prefix)), default=1)
                for coding in record_codings(record, template, prefix):
                    found = degenerate_seeds(record, template, prefix, coding)
                    if found:
                        reasons = dict.fromkeys(part for r in found.values() for part in _split(r))
                        rows.append({"run": record.get("run"), "method": prefix.rstrip("/"), "coding": coding or NO_CODING,
                                     "seeds": f"{len(found)} of {n}", "reason": "; ".join(reasons)})
    return pd.DataFrame(rows, columns=["run", "method", "coding", "seeds", "reason"])


def needs(records_folder: Path | str | None = None, claims: pd.DataFrame | None = None) -> pd.DataFrame:
    """What the ledger reads from each template: one row per (template, metric name) with the claims
    that use it and whether the records report it (``reported``, ``missing in <runs>``, ``no record``).

    Names are spelled as the records spell them: a label-dependent metric under the record's other
    coding carries that coding's prefix (``l1/favourable_dpr`` when plain names are unfavourable).
    The group rates that the degeneracy rule prefers (``<method>/positive_rate_<group>``) are listed
    for every method of a template that scores a classifier.
    """
    claims = ledger() if claims is None else claims
    store = Store(records_folder)
    wanted: dict[tuple[str, str], dict[str, Any]] = {}

    def want(template: str, name: str, claim: str, scope: str) -> None:
        entry = wanted.setdefault((template, name), {"claims": [], "scopes": []})
        entry["claims"].append(claim)
        entry["scopes"].append(scope)

    for _, row in claims.iterrows():
        codings: Iterable[str | None] = CODINGS if row["coding"] == "both" else (None,)
        scopes = [s.strip() for s in (row["scope"] + ";" + row["versus"]).split(";") if s.strip()]
        match = _COMPOSITE.match(row["metric"])
        parts = [p.strip() for p in match.group("parts").split(",")] if match else [row["metric"]]
        for ref in _refs(row["a"]) + _refs(row["b"]):
            for scope in scopes:
                try:
                    plain = plain_coding(store.find(ref.template, scope), ref.template)
                except Missing:
                    plain = None
                plain = plain or _default(ref.template, "positive_label")  # only to spell the names
                for coding in codings:
                    if "{metric}" not in ref.pattern:
                        want(ref.template, ref.pattern, row["id"], scope)
                        continue
                    for part in parts:
                        want(ref.template, ref.pattern.format(metric=_coded(part, coding, plain)), row["id"], scope)
                    if ref.template in CLASSIFIER_TEMPLATES:
                        want(ref.template, ref.prefix + _coded("positive_rate_<group>", coding, plain), row["id"], scope)
    rows = []
    for (template, name), entry in wanted.items():
        scopes = list(dict.fromkeys(entry["scopes"]))
        found, lacking = [], []
        for scope in scopes:
            try:
                record = store.find(template, scope)
            except Missing:
                continue
            names = record.get("metrics") or {}
            present = (any(n.startswith(name.split("<group>")[0]) for n in names) if "<group>" in name else name in names)
            (found if present else lacking).append(record.get("run", "?"))
        status = ("no record" if not found and not lacking else "reported" if not lacking
                  else "missing in " + ", ".join(lacking))
        rows.append({"template": template, "metric": name, "claims": ", ".join(dict.fromkeys(entry["claims"])),
                     "status": status})
    return pd.DataFrame(rows, columns=["template", "metric", "claims", "status"])
