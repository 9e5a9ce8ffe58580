"""Agreement of a leaderboard's ranking with the published tables (VOC-LT, COCO-LT).

For the methods that have both a fine-tuning result here (the default variant, mean "all" mAP
over its seeds) and a published "all" mAP (`MethodSpec.reported`), the two rankings are compared
with Kendall's tau-b (`scipy.stats.kendalltau`) and Spearman's rho (`scipy.stats.spearmanr`),
and every pair of methods whose order differs (a discordant pair) is listed. The two published
tables are also compared with each other, as a measure of how much two real benchmarks of the
same protocol agree. The section is a measured outcome: it is generated, never edited.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Mapping

PUBLISHED = (("voc_lt", "VOC-LT"), ("coco_lt", "COCO-LT"))


@dataclass
class Agreement:
    reference: str
    methods: list[str]  # titles, in the order of `ours`
    tau: float
    tau_p: float
    rho: float
    rho_p: float
    discordant: list[tuple[str, str, float, float, float, float]]  # (a, b, ours a, ours b, ref a, ref b): a above b here only
    ties: int  # pairs tied in either ranking (neither concordant nor discordant)

    @property
    def pairs(self) -> int:
        n = len(self.methods)
        return n * (n - 1) // 2


def compare(ours: Mapping[str, float], reference: Mapping[str, float], name: str) -> Agreement | None:
    """Rank agreement over the keys both mappings hold; None with fewer than 3 in common."""
    from scipy import stats

    common = sorted(set(ours) & set(reference), key=lambda k: -ours[k])
    if len(common) < 3:
        return None
    x, y = [ours[k] for k in common], [reference[k] for k in common]
    tau = stats.kendalltau(x, y)
    rho = stats.spearmanr(x, y)
    discordant, ties = [], 0
    for a, b in itertools.combinations(common, 2):
        d_ours, d_ref = ours[a] - ours[b], reference[a] - reference[b]
        if d_ours == 0 or d_ref == 0:
            ties += 1
        elif (d_ours > 0) != (d_ref > 0):
            discordant.append((a, b, ours[a], ours[b], reference[a], reference[b]))
    return Agreement(name, common, float(tau.statistic), float(tau.pvalue), float(rho.statistic), float(rho.pvalue), discordant, ties)


def ours_all(frame: Any) -> dict[str, float]:
    """Method title -> mean "all" mAP of the fine-tuning track's default variant."""
    rows = frame
    if "protocol" in rows.columns:
        rows = rows[rows["protocol"] == "finetune"]
    rows = rows[(rows["variant"] == "default") & (rows["n_seeds"] > 0) & rows["all"].notna()]
    return {str(r["title"]): float(r["all"]) for _, r in rows.iterrows()}


def published_all(dataset: str) -> dict[str, float]:
    """Method title -> the published "all" mAP on `dataset` (voc_lt / coco_lt)."""
    from ltml_bench.registry import METHODS

    return {spec.title: float(spec.reported[dataset][3]) for spec in METHODS.all() if dataset in spec.reported}


def agreement_markdown(frame: Any) -> str:
    """The generated section "Agreement with the published tables" ("" without fine-tuning runs)."""
    ours = ours_all(frame)
    tables = {title: published_all(key) for key, title in PUBLISHED}
    results = [compare(ours, values, title) for title, values in tables.items()]
    results = [r for r in results if r is not None]
    if not results:
        return ""
    lines = [
        "## Agreement with the published tables",
        "",
        "The ranking of this leaderboard's fine-tuning track (default variants, mean \"all\" mAP over seeds) against "
        "each published table's \"all\" column (HMT-Net paper, Tables 1 and 2), over the methods both have: "
        "Kendall's tau-b and Spearman's rho (scipy.stats, two-sided p-values), and the pairs of methods ordered differently.",
        "",
        "| published table | methods | Kendall's tau (p) | Spearman's rho (p) | pairs ordered differently |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(f"| {r.reference} | {len(r.methods)} | {r.tau:.2f} ({r.tau_p:.2g}) | {r.rho:.2f} ({r.rho_p:.2g}) | "
                     f"{len(r.discordant)} of {r.pairs}{f' ({r.ties} tied)' if r.ties else ''} |")
    between = compare(published_all("voc_lt"), published_all("coco_lt"), "VOC-LT vs COCO-LT")
    if between is not None:
        lines += ["", f"For scale, the two published tables agree with each other at Kendall's tau {between.tau:.2f}, "
                      f"Spearman's rho {between.rho:.2f} ({len(between.discordant)} of {between.pairs} pairs ordered differently)."]
    lines += _rank_lines(ours, tables, results, between)
    for r in results:
        lines += ["", f"Pairs ordered differently from {r.reference} (here vs published \"all\" mAP):", ""]
        lines += [f"- {a} above {b} here ({oa:.2f} vs {ob:.2f}), below it in {r.reference} ({ra:.2f} vs {rb:.2f})"
                  for a, b, oa, ob, ra, rb in r.discordant] or ["- none"]
    return "\n".join(lines) + "\n"


def _ranks(values: Mapping[str, float], keys: list[str]) -> dict[str, float]:
    """Rank 1 = highest value, over `keys` only (ties share their mean rank, as in Spearman's rho)."""
    from scipy import stats

    ranked = stats.rankdata([-values[k] for k in keys])
    return {k: float(r) for k, r in zip(keys, ranked)}


def _rank_lines(ours: Mapping[str, float], tables: Mapping[str, Mapping[str, float]], results: list[Agreement],
                between: Agreement | None) -> list[str]:
    """Each method's rank here and in each published table, by sampler, and, when the agreement is
    below the published tables' agreement with each other, the measured pattern in words."""
    from ltml_bench.registry import METHODS

    sampler = {spec.title: (spec.sampler or "uniform").replace("_", "-") for spec in METHODS.all()}
    keys = sorted(set.intersection(*(set(r.methods) for r in results)), key=lambda k: -ours[k])
    here = _ranks(ours, keys)
    published = {r.reference: _ranks(tables[r.reference], keys) for r in results}
    names = [r.reference for r in results]
    lines = ["", "Ranks over these methods (1 = best \"all\" mAP; `sampler`: how the method's training images are drawn):", "",
             "| method | sampler | rank here | " + " | ".join(f"rank {n}" for n in names) + " |",
             "|---|---|---|" + "---|" * len(names)]
    for k in keys:
        lines.append(f"| {k} | {sampler.get(k, 'uniform')} | {here[k]:g} | " + " | ".join(f"{published[n][k]:g}" for n in names) + " |")
    if between is None or max(r.tau for r in results) >= between.tau:
        return lines
    by_sampler: dict[str, list[str]] = {}
    for k in keys:
        by_sampler.setdefault(sampler.get(k, "uniform"), []).append(k)
    parts = []
    for group, members in sorted(by_sampler.items()):
        mean_here = sum(here[k] for k in members) / len(members)
        mean_pub = ", ".join(f"{sum(published[n][k] for k in members) / len(members):.1f} in {n}" for n in names)
        parts.append(f"the {len(members)} {group}-sampled method(s) ({', '.join(members)}): mean rank "
                     f"{mean_here:.1f} here against {mean_pub}")
    shift = {k: max(abs(here[k] - published[n][k]) for n in names) for k in keys}
    moves = [k for k in sorted(keys, key=lambda k: -shift[k]) if shift[k] > 0][:3]
    moved = "; ".join(f"{k} ({here[k]:g} here, " + ", ".join(f"{published[n][k]:g} in {n}" for n in names) + ")" for k in moves)
    lines += ["", f"**The agreement is low**: below the two published tables' agreement with each other (tau "
                  f"{between.tau:.2f}). Measured here: {'; '.join(parts)}. The largest moves: {moved}. "
                  f"docs/protocol.md section 6 says what is known of the causes."]
    return lines

