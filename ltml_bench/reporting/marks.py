"""Intervals, tie marks and reproduction verdicts added to a table (`tables.aggregate`'s frame).

For each row (a method and variant over its seeds), from its runs' `scores.npz` on the shared
image resamples:

- `<group>_low`, `<group>_high`: the two-level bootstrap interval (seeds, then images) of the mean
  over seeds, for head, middle, tail and all; `ci_level`, `ci_resamples`;
- `p_vs_top`: the Holm-adjusted p-value (over the other rows of the track) of the paired test of
  the row's "all" against the top-ranked row's; `rank_top` marks that row; `tied_with_top` is true
  for it and for rows not significantly worse (p_vs_top >= alpha);
- `reproduced`, `reproduced_gap` (rows with a published number, fine-tuning track): "yes" when
  the published "all" lies inside the row's "all" interval (gap 0), "above" / "below" when it lies
  above / below it, the gap being published minus the nearer bound (positive above, negative below).

Rows whose runs lack a readable `scores.npz` keep empty cells, with a message through `say`.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from ltml_bench.errors import UserError
from ltml_bench.metrics.intervals import INTERVAL_GROUPS, BootstrapSettings
from ltml_bench.metrics.significance import holm, paired_difference
from ltml_bench.reporting.compare import runs_by_row
from ltml_bench.reporting.tables import UNCERTAINTY_COLUMNS
from ltml_bench.reporting.uncertainty import MethodSamples, Resampler, method_samples
from ltml_bench.runs.records import LoadedRecord


def verdict(published: float | None, low: float | None, high: float | None) -> tuple[str | None, float | None]:
    """("yes", 0.0) inside [low, high], ("above", published - high), ("below", published - low)."""
    if published is None or low is None or high is None or any(math.isnan(float(v)) for v in (published, low, high)):
        return None, None
    if published > high:
        return "above", float(published - high)
    if published < low:
        return "below", float(published - low)
    return "yes", 0.0


def annotate(frame: Any, loaded: list[LoadedRecord], settings: BootstrapSettings = BootstrapSettings(), alpha: float = 0.05,
             say: Callable[[str], None] = lambda line: None) -> Any:
    """`frame` with the columns of `tables.UNCERTAINTY_COLUMNS` (see the module docstring)."""
    frame = frame.copy()
    frame.attrs["tie_alpha"] = alpha
    for column in UNCERTAINTY_COLUMNS:
        frame[column] = None
    if frame.empty:
        return frame
    resampler = Resampler(settings)
    tracks: dict[tuple[str, str], list[int]] = {}
    for i, row in frame.iterrows():
        tracks.setdefault((str(row["dataset"]), str(row.get("protocol", "finetune"))), []).append(int(i))
    for (dataset, protocol), positions in tracks.items():
        rows = runs_by_row(loaded, dataset, protocol)
        samples: dict[int, MethodSamples] = {}
        for i in positions:
            items = rows.get((str(frame.at[i, "method"]), str(frame.at[i, "variant"])))
            if not items:
                continue  # a published row without runs
            try:
                samples[i] = method_samples(resampler, items)
            except UserError as exc:
                say(f"no interval for {frame.at[i, 'method']} ({frame.at[i, 'variant']}) on {dataset}: {exc}")
                continue
            _fill_intervals(frame, i, samples[i], settings)
        _fill_ties(frame, positions, samples, settings.level, alpha)
    for column in UNCERTAINTY_COLUMNS:
        if column.endswith(("_low", "_high", "_gap")) or column in ("ci_level", "ci_resamples", "p_vs_top"):
            frame[column] = frame[column].astype(float)  # None -> NaN: numbers in every export
    return frame


def _fill_intervals(frame: Any, i: int, samples: MethodSamples, settings: BootstrapSettings) -> None:
    for group in INTERVAL_GROUPS:
        low, high = samples.interval(group, settings)
        frame.at[i, f"{group}_low"], frame.at[i, f"{group}_high"] = low, high
    frame.at[i, "ci_level"], frame.at[i, "ci_resamples"] = settings.level, settings.resamples
    published = frame.at[i, "reported_all"] if "reported_all" in frame.columns else None
    if frame.at[i, "protocol"] == "finetune" and published is not None and not _nan(published):
        frame.at[i, "reproduced"], frame.at[i, "reproduced_gap"] = verdict(float(published), frame.at[i, "all_low"], frame.at[i, "all_high"])


def _nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _fill_ties(frame: Any, positions: list[int], samples: dict[int, MethodSamples], level: float, alpha: float) -> None:
    """The top-ranked row of the track with samples (frames are sorted by all), and Holm-adjusted
    p-values of every other row's "all" against it."""
    ranked = [i for i in positions if i in samples and not _nan(frame.at[i, "all"]) and frame.at[i, "all"] is not None]
    if not ranked:
        return
    top, others = ranked[0], ranked[1:]
    frame.at[top, "rank_top"], frame.at[top, "tied_with_top"] = True, True
    ref = samples[top]
    p_values = []
    for i in others:
        d = paired_difference(samples[i].points("all"), ref.points("all"), samples[i].resampled("all"), ref.resampled("all"), level)
        p_values.append(d.p_value)
    for i, p in zip(others, holm(p_values)):
        frame.at[i, "rank_top"] = False
        frame.at[i, "p_vs_top"] = p
        frame.at[i, "tied_with_top"] = None if p is None else bool(p >= alpha)
