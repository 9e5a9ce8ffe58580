"""`ltml-bench plot`: figures from finished run records (matplotlib, Agg backend).

For each dataset in the runs folder:

- `<dataset>_per_class_ap.<fmt>`: per-class AP (mean over seeds) against the class's training
  count, log x axis, the head / middle / tail regions of the records' group rule shaded; one
  series per method (and variant, when a method has several).
- `<dataset>_groups.<fmt>`: head / middle / tail / all mAP as grouped bars per method, error bars
  = standard deviation over seeds (ddof=1; none for a single seed).
- `<dataset>_<method>_sensitivity_<param>.<fmt>`: mAP of each group against a hyper-parameter
  that takes two or more values in the records' `config` (e.g. HMT-Net's `head_params.lam`);
  `--param NAME` picks any config setting (by its last dotted component or full path, e.g. `lam`,
  `lr`), otherwise every swept method hyper-parameter (`loss_params.*`, `head_params.*`) is drawn.
  Fewer than two values: skipped, with a message.

- `ranks_cd.<fmt>` (when two or more datasets have runs): average ranks of "all" over the datasets,
  Friedman's test and a Nemenyi critical-difference diagram (Demšar 2006), of the methods whose
  default variant ran on every dataset (`reporting.ranks`).

Records of validation runs (`eval_split` other than "test") are left out. Linear-probe runs
(`--protocol probe`) are a track of their own: `<dataset>_probe_per_class_ap`, `<dataset>_probe_groups`
and `<dataset>_probe_<method>_sensitivity_<param>`, never mixed into the fine-tuning figures.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from ltml_bench.errors import UserError

GROUPS = ("head", "middle", "tail", "all")
GROUP_COLORS = {"head": "#4C72B0", "middle": "#DD8452", "tail": "#C44E52", "all": "#333333"}
REGION_COLORS = {"head": "#4C72B0", "middle": "#55A868", "tail": "#C44E52"}
# config paths that never count as a swept hyper-parameter
METHOD_PARAM_PREFIXES = ("loss_params.", "head_params.")
NOT_PARAMS = ("seed", "method", "dataset", "train.device", "train.num_workers", "train.eval_batch_size")


def _flatten(config: Any, prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    if isinstance(config, dict):
        for key, value in config.items():
            if not prefix and key == "overrides":
                continue
            flat.update(_flatten(value, f"{prefix}{key}."))
    else:
        flat[prefix[:-1]] = tuple(config) if isinstance(config, list) else config
    return flat


def _series(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """label -> records (one per seed, the last one found wins), labels in first-seen order.

    A method run in several variants gets one series per variant, labelled with the settings
    in which its variants differ ("HMT-Net [lam=0.5]").
    """
    variants: dict[str, set[str]] = {}
    for r in records:
        variants.setdefault(r["method"], set()).add(r.get("variant", "default"))
    common = {m: set.intersection(*(set(v.split(",")) for v in vs)) for m, vs in variants.items() if len(vs) > 1}
    out: dict[str, dict[Any, dict[str, Any]]] = {}
    for r in records:
        label = r.get("method_title", r["method"])
        if r["method"] in common:
            parts = [part for part in r.get("variant", "default").split(",") if part not in common[r["method"]]]
            label += f" [{','.join(parts) or 'default'}]"
        out.setdefault(label, {})[r["seed"]] = r
    return {label: list(by_seed.values()) for label, by_seed in out.items()}


def _mean_std(values: Iterable[float | None]) -> tuple[float, float]:
    finite = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    if not finite:
        return math.nan, math.nan
    return float(np.mean(finite)), float(np.std(finite, ddof=1)) if len(finite) > 1 else 0.0


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)


def plot_per_class_ap(ax: Any, series: dict[str, list[dict[str, Any]]]) -> None:
    first = next(iter(series.values()))[0]
    counts = np.asarray(first["train_counts"], dtype=float)
    rule = first.get("group_rule") or {"head_min": 100, "tail_below": 20}
    low, high = max(counts.min(), 1) / 1.5, counts.max() * 1.5
    spans = {"tail": (low, rule["tail_below"]), "middle": (rule["tail_below"], rule["head_min"]), "head": (rule["head_min"], high)}
    for name, (a, b) in spans.items():
        if b > a:
            ax.axvspan(a, b, color=REGION_COLORS[name], alpha=0.10, lw=0)
            ax.text(math.sqrt(max(a, low) * min(b, high)), 0.985, name, ha="center", va="top", fontsize=10, weight="bold",
                    color=REGION_COLORS[name], transform=ax.get_xaxis_transform())
    order = np.argsort(counts, kind="stable")
    markers = "osD^vP*Xh<>"
    for k, (label, items) in enumerate(series.items()):
        ap = np.array([_mean_std(r["per_class_ap"][i] for r in items)[0] for i in range(len(counts))]) * 100
        n = len(items)
        ax.plot(counts[order], ap[order], marker=markers[k % len(markers)], ms=5, lw=0.8, alpha=0.8,
                color=_series_colour(k, len(series)), label=f"{label} ({n} seed{'s' if n > 1 else ''})")
    ax.set_xscale("log")
    ax.set_xlim(low, high)
    ax.set_ylim(0, 100)
    ax.set_xlabel("training images of the class (log scale)")
    ax.set_ylabel("AP (%), mean over seeds")
    ax.grid(True, which="major", alpha=0.3)
    _legend_below(ax, -0.12, 3)


LEGEND_WIDTH = 90  # characters per legend line: wider labels (long variant names) are wrapped


def _legend_below(ax: Any, y: float, max_columns: int) -> None:
    """The legend under the axes, its labels wrapped and its columns as many as fit the figure, so
    that the layout never has to give up (no "layout not applied" warning)."""
    import textwrap

    handles, labels = ax.get_legend_handles_labels()
    wrapped = [textwrap.fill(label, LEGEND_WIDTH) for label in labels]
    widest = max((len(line) for label in wrapped for line in label.splitlines()), default=1)
    columns = max(1, min(max_columns, len(labels), LEGEND_WIDTH // max(widest, 1)))
    ax.legend(handles, wrapped, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, y), ncol=columns, frameon=False)


def _series_colour(k: int, n: int) -> Any:
    """Distinct colours for up to 20 series (tab10 repeats after 10)."""
    import matplotlib

    return matplotlib.colormaps["tab10" if n <= 10 else "tab20"](k % (10 if n <= 10 else 20))


def plot_groups(ax: Any, series: dict[str, list[dict[str, Any]]]) -> None:
    first = next(iter(series.values()))[0]
    sizes = {g: len(first["groups"][g]) for g in ("head", "middle", "tail")}
    sizes["all"] = len(first["class_names"])
    x = np.arange(len(GROUPS))
    width = 0.8 / max(1, len(series))
    for k, (label, items) in enumerate(series.items()):
        stats = [_mean_std(r["map"][g] for r in items) for g in GROUPS]
        means = [m for m, _ in stats]
        errors = [s if len(items) > 1 else 0.0 for _, s in stats]
        bars = ax.bar(x - 0.4 + width * (k + 0.5), means, width, yerr=errors if len(items) > 1 else None, capsize=3,
                      color=_series_colour(k, len(series)), label=f"{label} ({len(items)} seed{'s' if len(items) > 1 else ''})")
        for bar, value, error in zip(bars, means, errors):
            if not math.isnan(value):  # above the error bar
                ax.annotate(f"{value:.1f}", (bar.get_x() + bar.get_width() / 2, value + (error or 0.0)), xytext=(0, 2),
                            textcoords="offset points", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(x, [f"{g} ({sizes[g]})" for g in GROUPS])
    ax.set_ylabel("mAP (%), mean ± std over seeds")
    ax.set_ylim(0, 100)
    ax.grid(True, axis="y", alpha=0.3)
    _legend_below(ax, -0.08, 7)


def swept_params(records: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Config paths (of one method's records) that take two or more values, with the values."""
    values: dict[str, set[Any]] = {}
    for r in records:
        for key, value in _flatten(r.get("config") or {}).items():
            if key in NOT_PARAMS:
                continue
            try:
                values.setdefault(key, set()).add(value)
            except TypeError:  # unhashable (a nested list): not a sweep axis
                pass
    return {k: sorted(v, key=_sort_key) for k, v in values.items() if len(v) >= 2}


def _sort_key(value: Any) -> tuple[int, Any]:
    return (0, float(value)) if isinstance(value, (int, float)) and not isinstance(value, bool) else (1, str(value))


def plot_sensitivity(ax: Any, records: list[dict[str, Any]], param: str, others: list[str]) -> None:
    by_value: dict[Any, dict[Any, dict[str, Any]]] = {}
    for r in records:
        value = _flatten(r.get("config") or {}).get(param)
        by_value.setdefault(value, {})[r["seed"]] = r
    values = sorted(by_value, key=_sort_key)
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    xs = np.asarray(values, dtype=float) if numeric else np.arange(len(values))
    for g in GROUPS:
        stats = [_mean_std(r["map"][g] for r in by_value[v].values()) for v in values]
        seeds = [len(by_value[v]) for v in values]
        ax.errorbar(xs, [m for m, _ in stats], yerr=[s if n > 1 else 0.0 for (_, s), n in zip(stats, seeds)],
                    marker="o", ms=4, capsize=3, color=GROUP_COLORS[g], lw=2.2 if g in ("all", "tail") else 1.2,
                    ls="-" if g in ("all", "tail") else "--", label=g)
    if numeric and min(values) > 0 and max(values) / min(values) >= 20:
        ax.set_xscale("log")
    if not numeric:
        ax.set_xticks(xs, [str(v) for v in values])
    else:
        ax.set_xticks(xs, [f"{v:g}" for v in values])
    seeds = sorted({len(s) for s in by_value.values()})
    ax.set_xlabel(param + (f"   (other settings also differ: {', '.join(others)})" if others else ""))
    ax.set_ylabel(f"mAP (%), mean ± std over {'/'.join(map(str, seeds))} seed(s)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)


def make_plots(
    runs: str | Path,
    out: str | Path,
    dataset: str | None = None,
    methods: list[str] | None = None,
    fmt: str = "png",
    param: str | None = None,
    say: Callable[[str], None] = lambda line: None,
) -> list[Path]:
    """Write the figures; returns the files written. `say` receives messages about skipped plots."""
    from ltml_bench.reporting.tables import protocol_of

    if fmt not in ("png", "svg", "pdf"):
        raise UserError(f"--format {fmt!r}: choose png, svg or pdf")
    records = _plotted_records(runs, dataset, methods, say)
    figures = _Figures(Path(out), fmt)
    for ds, protocol in sorted({(r["dataset"], protocol_of(r)) for r in records}):
        part = [r for r in records if r["dataset"] == ds and protocol_of(r) == protocol]
        if methods:  # the order the user gave
            part.sort(key=lambda r: methods.index(r["method"]))
        _track_figures(figures, part, ds, protocol, param, say)
    if len({r["dataset"] for r in records}) >= 2:
        cd_figure(figures, records, say)
    return figures.written


def _plotted_records(runs: str | Path, dataset: str | None, methods: list[str] | None,
                     say: Callable[[str], None]) -> list[dict[str, Any]]:
    """The finished test-split records to plot (of `methods` when given)."""
    from ltml_bench.reporting.tables import collect

    records, skipped = collect(runs, dataset)
    for item in skipped:
        say(f"skipped {item.path}: {item.reason}")
    records = [r for r in records if r.get("eval_split", "test") == "test"]
    if not records:
        raise UserError(f"no finished runs under {str(runs)!r}" + (f" for dataset {dataset!r}" if dataset else "") + "; nothing to plot")
    if methods:
        present = sorted({r["method"] for r in records})
        unknown = [m for m in methods if m not in present]
        if unknown:
            raise UserError(f"--methods: no finished runs of {', '.join(unknown)} under {str(runs)!r}; found: {', '.join(present)}")
        records = [r for r in records if r["method"] in methods]
    return records


class _Figures:
    """Saves figures into a writable folder and remembers what it wrote."""

    def __init__(self, out: Path, fmt: str) -> None:
        import matplotlib

        matplotlib.use("Agg")
        try:
            out.mkdir(parents=True, exist_ok=True)
            probe = out / ".write-test"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise UserError(f"--out {str(out)!r}: cannot write there ({exc.strerror or exc}); choose a writable folder") from exc
        self.out, self.fmt = out, fmt
        self.written: list[Path] = []

    def new(self, figsize: tuple[float, float]) -> tuple[Any, Any]:
        import matplotlib.pyplot as plt

        # constrained layout places titles, labels and legends without tight_layout's warnings
        return plt.subplots(figsize=figsize, layout="constrained")

    def save(self, fig: Any, name: str) -> None:
        import matplotlib.pyplot as plt

        target = self.out / f"{_safe(name)}.{self.fmt}"
        fig.savefig(target, dpi=130, bbox_inches="tight")  # legends below the axes stay in the picture
        plt.close(fig)
        self.written.append(target)


def _track_figures(figures: _Figures, part: list[dict[str, Any]], ds: str, protocol: str, param: str | None,
                   say: Callable[[str], None]) -> None:
    """Per-class AP, group bars and sensitivity figures of one dataset's protocol track."""
    # the fine-tuning track keeps the plain names; the linear-probe track gets its own figures
    tag, title = ("", ds) if protocol == "finetune" else (f"_{protocol}", f"{ds} ({'linear probe' if protocol == 'probe' else protocol})")
    rule_text = part[0].get("group_rule_text", "")
    comparable = [r for r in part if r.get("train_counts") and r.get("per_class_ap") and len(r["per_class_ap"]) == len(part[0]["train_counts"])]
    if comparable:
        fig, ax = figures.new((9, 5.5))
        plot_per_class_ap(ax, _series(comparable))
        ax.set_title(f"{title}: per-class AP against training count\n{rule_text}", fontsize=10)
        figures.save(fig, f"{ds}{tag}_per_class_ap")
    else:
        say(f"{ds}: no per-class AP with training counts in the records; per-class plot skipped")
    series = _series(part)
    fig, ax = figures.new((max(7, 1.2 + 0.9 * len(series) * 1.1), 5))
    plot_groups(ax, series)
    ax.set_title(f"{title}: mAP by group\n{rule_text}", fontsize=10)
    figures.save(fig, f"{ds}{tag}_groups")

    for method in sorted({r["method"] for r in part}):
        mine = [r for r in part if r["method"] == method]
        swept = swept_params(mine)
        for key in _sensitivity_targets(mine, swept, param, f"{ds} {method}", say):
            fig, ax = figures.new((7, 4.5))
            plot_sensitivity(ax, mine, key, [k for k in swept if k != key])
            ax.set_title(f"{title}: {mine[0].get('method_title', method)}, sensitivity to {key}", fontsize=10)
            figures.save(fig, f"{ds}{tag}_{method}_sensitivity_{key.rsplit('.', 1)[-1]}")
    if param is None and not any(k.startswith(METHOD_PARAM_PREFIXES) for m in {r["method"] for r in part}
                                 for k in swept_params([r for r in part if r["method"] == m])):
        say(f"{ds}: no method hyper-parameter takes 2 or more values in the records' config; no sensitivity plot "
            f"(--param NAME picks any config setting, e.g. lr)")


def _sensitivity_targets(mine: list[dict[str, Any]], swept: dict[str, list[Any]], param: str | None, where: str,
                         say: Callable[[str], None]) -> list[str]:
    """The config paths to draw a sensitivity plot for: by default the method's own swept
    hyper-parameters; `param` reaches any config path (and says why when it cannot be drawn)."""
    if param is None:
        return [k for k in swept if k.startswith(METHOD_PARAM_PREFIXES)]
    keys = [k for k in _flatten(mine[0].get("config") or {}) if k == param or k.rsplit(".", 1)[-1] == param]
    if not keys:
        say(f"{where}: no hyper-parameter {param!r} in the records' config; sensitivity plot skipped")
        return []
    targets = [k for k in keys if k in swept]
    if not targets:
        values = sorted({_flatten(r.get("config") or {}).get(keys[0]) for r in mine}, key=_sort_key)
        say(f"{where}: {keys[0]} takes {len(values)} value(s) ({', '.join(map(str, values))}); "
            f"a sensitivity plot needs 2 or more; skipped")
    return targets


def plot_cd_diagram(ax: Any, result: Any, titles: dict[str, str] | None = None) -> None:
    """A critical-difference diagram (Demšar 2006): the methods on an axis of average rank (1 = best,
    on the left), a bar of length CD, and thick lines joining methods whose ranks differ by less than CD."""
    from ltml_bench.metrics.significance import cliques

    titles = titles or {}
    k = len(result.methods)
    order = sorted(range(k), key=lambda j: result.average_ranks[j])
    ranks = [result.average_ranks[j] for j in order]
    names = [titles.get(result.methods[j], result.methods[j]) for j in order]
    ax.set_xlim(0.5, k + 0.5)
    half = (k + 1) // 2
    rows = max(half, k - half)
    ax.set_ylim(-(rows + 1.5), 2.2)
    ax.axis("off")
    ax.hlines(0, 1, k, color="black", lw=1.2)
    for tick in range(1, k + 1):
        ax.vlines(tick, 0, 0.15, color="black", lw=1)
        ax.text(tick, 0.3, str(tick), ha="center", va="bottom", fontsize=9)
    cd = result.critical_difference
    ax.hlines(1.3, 1, 1 + cd, color="black", lw=1.5)
    ax.vlines([1, 1 + cd], 1.2, 1.4, color="black", lw=1.5)
    ax.text(1 + cd / 2, 1.5, f"CD = {cd:.2f}", ha="center", va="bottom", fontsize=9)
    for position, (rank, name) in enumerate(zip(ranks, names)):
        left = position < half
        row = position if left else k - 1 - position
        y = -(row + 1.0)
        end = 0.5 if left else k + 0.5
        ax.plot([rank, rank, end], [0, y, y], color="black", lw=0.9)
        ax.text(end + (-0.05 if left else 0.05), y, f"{name} ({rank:.2f})", ha="right" if left else "left", va="center", fontsize=9)
    for n, (first, last) in enumerate(cliques(ranks, cd)):
        y = -0.3 - 0.18 * n
        ax.hlines(y, ranks[first] - 0.05, ranks[last] + 0.05, color="#C44E52", lw=3)


def cd_figure(figures: "_Figures", records: list[dict[str, Any]], say: Callable[[str], None]) -> None:
    """`ranks_cd.<fmt>` when two or more datasets have runs of two or more common methods."""
    from ltml_bench.reporting.ranks import across_datasets

    result, datasets, reason = across_datasets(records)
    if result is None:
        say(f"no critical-difference diagram: {reason}")
        return
    titles = {str(r["method"]): str(r.get("method_title", r["method"])) for r in records}
    fig, ax = figures.new((9, 1.6 + 0.35 * (len(result.methods) + 1)))
    plot_cd_diagram(ax, result, titles)
    ax.set_title(f"average rank of 'all' mAP over {len(datasets)} datasets ({', '.join(datasets)})\nFriedman chi2 = "
                 f"{result.chi2:.2f}, p = {result.p_chi2:.3g}; Iman-Davenport p = {result.p_f:.3g}; Nemenyi CD at alpha "
                 f"{result.alpha:g}", fontsize=9)
    figures.save(fig, "ranks_cd")
    say(f"Friedman over {len(datasets)} datasets and {len(result.methods)} methods: chi2 = {result.chi2:.3f} "
        f"(p = {result.p_chi2:.3g}), Iman-Davenport F = {result.f:.3f} (p = {result.p_f:.3g}), Nemenyi CD = {result.critical_difference:.3f}")
