"""The report's sections, each from the export document (so every key that lands in the export,
e.g. validation findings and image issues, appears here without the report knowing who made it)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..formatting import human_bytes
from .page import Raw, badge, esc, section, table
from .svg import CHANNEL_COLOURS, histogram_svg, share_bars_svg, split_colour
from .thumbs import Thumbnails

SEVERITIES = ("error", "warning", "info")
PAIR_KINDS_FIRST = ("exact", "near", "mirror", "label_conflict")
# finding kinds about a split as a whole (drift, class balance); other kinds without paths are listed too
DATASET_FIELDS = ("property", "statistic", "value", "threshold")
MAX_BAR_CLASSES = 40        # classes drawn in the balance chart (largest first); the table has all
MAX_ISSUE_ITEMS = 300       # flagged images shown with thumbnails; the export lists every one


def channel_names(doc: dict) -> list[str]:
    return ["R", "G", "B"] if doc["normalization"]["mode"] == "RGB" else ["L"]


def _vec(values: Sequence[float | None], digits: int = 4) -> str:
    return ", ".join("-" if v is None else f"{v:.{digits}f}" for v in values)


def severity_counts(findings: Sequence[dict]) -> dict[str, int]:
    counts = dict.fromkeys(SEVERITIES, 0)
    for f in findings:
        counts[f.get("severity", "info")] = counts.get(f.get("severity", "info"), 0) + 1
    return counts


def summary_section(doc: dict, gate: str | None) -> str:
    ds = doc["dataset"]
    counts = severity_counts(doc["leakage"])
    cards = [(f"{ds.get('images', sum(s['images'] for s in doc['splits'].values())):,}", "images decoded", ""),
             (f"{ds.get('failed', len(doc['failures'])):,}", "unreadable", ""),
             (f"{ds.get('skipped', len(doc.get('skipped', []))):,}", "skipped (not images)", ""),
             (str(len(ds["splits"])), "splits: " + ", ".join(ds["splits"]), ""),
             (doc["normalization"]["mode"], "conversion mode", "")]
    cards += [(str(counts[s]), f"{s} findings", s if counts[s] else "") for s in SEVERITIES]
    html = '<div class="cards">' + "".join(
        f'<div class="stat {esc(cls)}"><b>{esc(v)}</b><span>{esc(label)}</span></div>'
        for v, label, cls in cards) + "</div>"
    source = ds.get("source") or {}
    facts = [("Root", ds["root"])]
    if source:
        facts.append(("Source", f"{source.get('kind', '-')}: {source.get('uri', '')}"))
    facts += [("Layout", ds.get("layout", "-")), ("Fingerprint", ds["fingerprint"])]
    if gate:
        failing = sum(n for s, n in counts.items() if SEVERITIES.index(s) <= SEVERITIES.index(gate))
        facts.append(("CI gate", f"--fail-on {gate}: " + (f"fails ({failing} finding(s) at {gate} or above)"
                                                        if failing else "passes")))
    html += table(None, facts)
    return section("summary", "Summary", html)


def splits_section(doc: dict) -> str:
    ch = channel_names(doc)
    rows = []
    for name, st in doc["splits"].items():
        counts = [name, f"{st['images']:,}", f"{st['failed']:,}", f"{st['pixels']:,}"]
        if not st["pixels"]:  # the export's zeros stand for "nothing decoded", not black pixels
            rows.append(counts + ["no readable image", "", "", "", ""])
            continue
        rows.append(counts + [_vec(st["mean"]), _vec(st["std"]), _vec(st["min"], 3), _vec(st["max"], 3),
                              _vec(st["mean_of_image_std"])])
    head = ["split", "images", "failed", "pixels", f"mean ({'/'.join(ch)}, 0-1)", "std (0-1)",
            "min", "max", "mean of image std*"]
    html = table(head, rows, numeric=(1, 2, 3))
    html += ('<p class="muted">* the average of per-image stds, which many snippets report as "the std"; '
             "it is not the dataset std (pixel-weighted over all images of the split).</p>")
    html += _percentiles(doc, ch)
    html += "<h3>Histograms</h3><div class=\"plots\">" + _histograms(doc, ch) + "</div>"
    html += "<h3>Image properties</h3>" + _properties(doc)
    return section("splits", "Per-split statistics", html)


def _percentiles(doc: dict, ch: list[str]) -> str:
    keys: list[str] = []
    for st in doc["splits"].values():
        keys += [k for k in st.get("percentiles", {}) if k not in keys]
    if not keys:
        return ""
    rows = [[name] + [_vec(st["percentiles"].get(k, []), 3) for k in keys]
            for name, st in doc["splits"].items() if st["images"]]
    return "<h3>Percentiles (0-1 scale, per channel)</h3>" + table(["split"] + keys, rows)


def _histograms(doc: dict, ch: list[str]) -> str:
    names = [n for n, st in doc["splits"].items() if st["images"]]
    colours = {n: split_colour(i) for i, n in enumerate(doc["splits"])}
    plots = []
    for c, cname in enumerate(ch):
        series = {n: doc["splits"][n]["histogram"][c] for n in names}
        title = f"Channel {cname}: share of pixels per value" if len(ch) > 1 else "Grey: share of pixels per value"
        plots.append(histogram_svg(series, colours, title))
    for n in names:   # one plot per split with its channels, for colour casts
        st = doc["splits"][n]
        if len(ch) > 1:
            series = {cname: st["histogram"][c] for c, cname in enumerate(ch)}
            plots.append(histogram_svg(series, CHANNEL_COLOURS, f"Split {n}: channels"))
    return "".join(plots)


def _dist(d: dict | None, fmt: str = "{:.0f}") -> str:
    if not d:
        return "-"
    return f"{fmt.format(d['median'])} ({fmt.format(d['min'])}-{fmt.format(d['max'])})"


def _counts(d: dict | None) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in sorted((d or {}).items(), key=lambda kv: -kv[1])) or "-"


def _properties(doc: dict) -> str:
    rows = []
    for name, st in doc["splits"].items():
        sz = st.get("sizes") or {}
        fb = sz.get("file_bytes")
        common = ", ".join(f"{w}x{h} ({n})" for w, h, n in sz.get("most_common", [])[:3]) or "-"
        rows.append([name, _dist(sz.get("width")), _dist(sz.get("height")),
                     _dist(sz.get("aspect_ratio"), "{:.2f}"), common,
                     f"{human_bytes(fb['median'])} (total {human_bytes(fb['total'])})" if fb else "-",
                     _counts(st.get("formats")), _counts(st.get("modes")), _counts(st.get("conversions"))])
    head = ["split", "width: median (range)", "height", "aspect ratio", "most common sizes",
            "file size: median", "formats", "modes", "conversions"]
    return table(head, rows)


def normalization_section(doc: dict, recommendation: Any | None) -> str:
    norm = doc["normalization"]
    if "unavailable" in norm:  # the export's zeros are placeholders: show the reason, not them
        return section("normalization", "Normalization", f'<div class="note">{esc(norm["unavailable"])}</div>')
    ch = channel_names(doc)
    mpv = norm["max_pixel_value"]
    rows = [["mean", _vec(norm["mean"], 6), _vec([v * mpv for v in norm["mean"]], 3)],
            ["std", _vec(norm["std"], 6), _vec([v * mpv for v in norm["std"]], 3)]]
    html = (f"<p>Statistics from <b>{esc(' + '.join(norm['source_splits']))}</b>, mode {esc(norm['mode'])}, "
            f"max pixel value {esc(mpv)}, channels {esc('/'.join(ch))}.</p>")
    html += table(["", "0-1 scale (ToTensor)", f"0-{mpv} scale"], rows)
    for w in norm.get("warnings", []):
        html += f'<div class="note">{esc(w)}</div>'
    if recommendation is not None:
        cls = "note" if recommendation.warnings else "note ok"
        html += f'<h3>Recommendation</h3><div class="{cls}">{esc(recommendation.text)}</div>'
        html += table(["what", "value"], list(recommendation.facts.items()))
    html += "<h3>Snippets</h3><p class=\"muted\">The exported numbers at float32 precision, on each library's scale.</p>"
    for lib, code in norm["snippets"].items():
        html += f"<details open><summary>{esc(lib)}</summary><pre><code>{esc(code)}</code></pre></details>"
    return section("normalization", "Normalization", html)


def balance_section(doc: dict) -> str:
    classes = doc["dataset"].get("classes") or {}
    splits = [s for s in doc["dataset"]["splits"] if classes.get(s)]
    if not splits:
        return section("balance", "Class balance", "<p class=\"muted\">No classes: the splits have no class folders or labels.</p>")
    totals = {s: sum(classes[s].values()) for s in splits}
    names = sorted({c for s in splits for c in classes[s]},
                   key=lambda c: (-sum(classes[s].get(c, 0) for s in splits), c))
    rows = []
    for c in names:
        row: list[object] = [c]
        for s in splits:
            n = classes[s].get(c, 0)
            row.append(f"{n:,} ({100 * n / totals[s]:.1f}%)" if n else Raw('<span class="badge error">0</span>'))
        rows.append(row)
    rows.append([Raw("<b>total</b>")] + [f"{totals[s]:,}" for s in splits])
    colours = {s: split_colour(doc["dataset"]["splits"].index(s)) for s in splits}
    shown = names[:MAX_BAR_CLASSES]
    note = (f'<p class="muted">The chart shows the {MAX_BAR_CLASSES} largest of {len(names)} classes; '
            "the table has all.</p>" if len(names) > MAX_BAR_CLASSES else "")
    chart = share_bars_svg(shown, splits, classes, colours, "Share of each split's images per class")
    html = f'<div class="plots bars">{chart}</div>{note}' + table(["class"] + splits, rows, numeric=range(1, len(splits) + 1))
    return section("balance", "Class balance", html)


def _figure(path: str, split: str | None, thumbs: Thumbnails, tiny: bool) -> str:
    cls = thumbs.css_class(path)
    if cls:
        img = f'<div class="img pic {cls}{" tiny" if tiny else ""}" role="img" aria-label="{esc(path)}"></div>'
    else:
        why = thumbs.failed.get(path) or "not embedded (report image limit reached)"
        img = f'<div class="img"><div class="none">no thumbnail: {esc(why)}</div></div>'
    cap = esc(path) + (f" <b>({esc(split)})</b>" if split else "")
    return f"<figure>{img}<figcaption>{cap}</figcaption></figure>"


def _finding_card(f: dict, thumbs: Thumbnails, tiny: bool) -> str:
    sev = f.get("severity", "info")
    splits = list(f.get("splits") or [])
    head = [badge(sev, sev), badge(f.get("kind", "?"), "kind")]
    if splits:
        head.append(Raw(f"<span>{esc(' ↔ '.join(splits))}</span>"))
    if f.get("distance") is not None:
        distance = f"{f['distance']:g}"
        head.append(Raw(f'<span class="muted">distance {esc(distance)}</span>'))
    paths = list(f.get("paths") or [])
    figs = "".join(_figure(p, splits[i] if i < len(splits) else None, thumbs, tiny)
                   for i, p in enumerate(paths))
    return (f'<div class="finding {esc(sev)}"><div class="head">{"".join(head)}</div>'
            + (f'<div class="pair">{figs}</div>' if figs else "")
            + f'<p class="msg">{esc(f.get("message", ""))}</p></div>')


def findings_section(doc: dict, thumbs: Thumbnails) -> str:
    """Every finding: those naming files as cards with their thumbnails, dataset-level ones as a table."""
    findings = doc["leakage"]
    tiny = _tiny_images(doc)
    with_files = [f for f in findings if f.get("paths")]
    dataset_level = [f for f in findings if not f.get("paths")]
    counts = severity_counts(findings)
    html = "<p>" + " ".join(str(badge(f"{counts[s]} {s}", s)) for s in SEVERITIES) + "</p>"
    if not findings:
        html += '<div class="note ok">No findings: no duplicates across splits, no label conflicts, no drift.</div>'
    if dataset_level:
        html += "<h3>About whole splits</h3>" + _dataset_table(dataset_level)
    if with_files:
        kinds: dict[str, int] = {}
        for f in with_files:
            kinds[f["kind"]] = kinds.get(f["kind"], 0) + 1
        html += (f"<h3>Naming files ({len(with_files):,})</h3><p class=\"muted\">"
                 + ", ".join(f"{n:,} {esc(k)}" for k, n in kinds.items()) + "</p>")
        html += '<div class="findings">' + "".join(_finding_card(f, thumbs, tiny) for f in with_files) + "</div>"
    return section("findings", f"Findings ({len(findings):,})", html)


def _tiny_images(doc: dict) -> bool:
    """Small images (digits, icons) are drawn with visible pixels instead of blurred up."""
    sizes = [st.get("sizes", {}).get("width", {}).get("median") for st in doc["splits"].values()]
    sizes = [s for s in sizes if s]
    return bool(sizes) and max(sizes) < 64


def _dataset_table(findings: list[dict]) -> str:
    extra = [k for k in DATASET_FIELDS if any(k in f for f in findings)]
    rows = []
    for f in findings:
        sev = f.get("severity", "info")
        row: list[object] = [badge(sev, sev), f.get("kind", "?"), " ↔ ".join(f.get("splits") or [])]
        row += [_value(f.get(k)) for k in extra]
        rows.append(row + [f.get("message", "")])
    return table(["severity", "kind", "splits"] + extra + ["message"], rows)


def _value(v: object) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def quality_section(doc: dict, thumbs: Thumbnails) -> str | None:
    """Image issues (dark, blurry, ...) when the export has them."""
    quality, items = doc.get("quality"), doc.get("quality_issues")
    if quality is None and items is None:
        return None
    html = ""
    if quality:
        splits = doc["dataset"]["splits"]
        rows = [[issue] + [f"{per.get(s, 0):,}" for s in splits] for issue, per in quality.items()]
        html += table(["issue"] + splits, rows, numeric=range(1, len(splits) + 1))
    items = list(items or [])
    if not items:
        html += '<div class="note ok">No image was flagged.</div>'
    else:
        shown = items[:MAX_ISSUE_ITEMS]
        tiny = _tiny_images(doc)
        cards = []
        for it in shown:
            scores = ", ".join(f"{k} {_value(v)}" for k, v in (it.get("scores") or {}).items())
            cards.append(f'<div class="finding info"><div class="head">'
                         + "".join(str(badge(i, "kind")) for i in it.get("issues", []))
                         + f'</div><div class="pair">{_figure(it["path"], it.get("split"), thumbs, tiny)}</div>'
                         + f'<p class="msg">{esc(scores)}</p></div>')
        html += f"<h3>Flagged images ({len(items):,})</h3>"
        if len(items) > len(shown):
            html += f'<p class="muted">The first {len(shown)} are shown; the JSON export lists all {len(items):,}.</p>'
        html += '<div class="findings">' + "".join(cards) + "</div>"
    return section("quality", "Image issues", html)


def problems_section(doc: dict) -> str:
    failures, skipped = doc.get("failures", []), doc.get("skipped", [])
    html = ""
    if not failures and not skipped:
        html = '<div class="note ok">Every file was read.</div>'
    if failures:
        html += (f"<details open><summary>{len(failures):,} unreadable file(s)</summary>"
                 + table(["path", "split", "reason"], [[f["path"], f.get("split") or "-", f["reason"]] for f in failures])
                 + "</details>")
    if skipped:
        html += (f"<details><summary>{len(skipped):,} skipped entr{'y' if len(skipped) == 1 else 'ies'}</summary>"
                 + table(["path", "split", "reason"], [[s["path"], s.get("split") or "-", s["reason"]] for s in skipped])
                 + "</details>")
    return section("files", "Unreadable and skipped files", html)
