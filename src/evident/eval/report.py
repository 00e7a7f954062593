"""Write a result: JSON, a Markdown table and PNG plots; refresh docs/evaluation.md; compare."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from evident.errors import InvalidInput
from evident.eval.data import REPO

DOC = REPO / "docs" / "evaluation.md"


def fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        if value.is_integer() and abs(value) >= 2:
            return f"{int(value)}"
        return f"{value:.3f}"
    return str(value)


def to_markdown(result: dict[str, Any], images: list[str] | None = None) -> str:
    """A Markdown section for one result: table of metrics, latency, notes, provenance."""
    lines = [f"### {result['title']}", ""]
    if result.get("limit") is not None:
        lines += [f"**Partial run: --limit {result['limit']}.**", ""]
    lines += [
        f"*Reported on:* {result['split']}  ",
        f"*Tuned on:* {result['tuning']}",
        "",
        "| metric | value | what it is |",
        "|---|---:|---|",
    ]
    for name, value in result["metrics"].items():
        lines.append(f"| `{name}` | {fmt(value)} | {result['descriptions'].get(name, '')} |")
    lat = result["latency"]
    if lat.get("items"):
        lines.append(
            f"| latency p50 / p95 | {fmt(lat['p50_s'])} s / {fmt(lat['p95_s'])} s | "
            f"seconds per item over {lat['items']} items |"
        )
    lines.append("")
    for note in result.get("notes", []):
        lines.append(f"- {note}")
    run = result["run"]
    library = run.get("library") or {}
    lines += [
        "",
        f"<sub>evident {run['package_version']} ({run['commit'] or 'no commit'}), "
        f"{run['started_at']}, {run['seconds']} s; library "
        f"{library.get('library_version', 'not used')[:12] if library else 'not used'}"
        + (
            f" ({library.get('documents')} documents, {library.get('passages')} passages, "
            f"embedder {run['settings']['index']['embedder']})"
            if library
            else ""
        )
        + f"; support threshold {run['settings']['verify']['support_threshold']}.</sub>",
    ]
    for image in images or []:
        lines += ["", f"![{Path(image).stem}]({image})"]
    return "\n".join(lines) + "\n"


def plot(result: dict[str, Any], out_dir: Path) -> list[Path]:
    """Histograms of each distribution and of latency; returns the PNG paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = {k: v for k, v in result.get("distributions", {}).items() if v}
    if result.get("latencies"):
        series["latency (s)"] = result["latencies"]
    if not series:
        return []
    paths = []
    name = result["suite"]
    fig, axes = plt.subplots(1, len(series), figsize=(4.2 * len(series), 3.2), squeeze=False)
    for ax, (label, values) in zip(axes[0], series.items(), strict=True):
        unit = label != "latency (s)" and min(values) >= 0 and max(values) <= 1
        bins = [i / 20 for i in range(21)] if unit else min(30, max(5, len(set(values))))
        ax.hist(values, bins=bins, color="#4c72b0")
        ax.set_ylabel("items", fontsize=8)
        ax.set_title(label, fontsize=9)
        ax.tick_params(labelsize=8)
    fig.suptitle(result["title"], fontsize=10)
    fig.tight_layout()
    path = out_dir / f"{name}.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    paths.append(path)
    return paths


def write_result(result: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    """Write <suite>.json, <suite>.md and <suite>.png into out_dir; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    name = result["suite"]
    json_path = out_dir / f"{name}.json"
    json_path.write_text(json.dumps(result, indent=1, default=str) + "\n")
    images = plot(result, out_dir)
    md_path = out_dir / f"{name}.md"
    md_path.write_text(to_markdown(result, [p.name for p in images]))
    paths = {"json": json_path, "markdown": md_path}
    for image in images:
        paths["png"] = image
    return paths


def update_doc(results: list[dict[str, Any]], images_dir: Path, doc: Path = DOC) -> Path:
    """Replace each suite's generated section of docs/evaluation.md (between markers)."""
    text = doc.read_text() if doc.exists() else "# Evaluation\n"
    for result in results:
        name = result["suite"]
        start, end = f"<!-- eval:{name}:start -->", f"<!-- eval:{name}:end -->"
        image = images_dir / f"{name}.png"
        inside = image.exists() and image.resolve().is_relative_to(doc.parent.resolve())
        rel = [str(image.resolve().relative_to(doc.parent.resolve()))] if inside else []
        block = f"{start}\n{to_markdown(result, rel).strip()}\n{end}"
        found = re.search(re.escape(start) + r".*?" + re.escape(end), text, re.S)
        if found:
            text = text[: found.start()] + block + text[found.end() :]
        else:
            text = text.rstrip("\n") + f"\n\n{block}\n"
    doc.write_text(text if text.endswith("\n") else text + "\n")
    return doc


def load_result(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"cannot read the eval result {path}: {exc}") from None
    if data.get("schema") != "evident.eval/1":
        raise InvalidInput(
            f"{path} is not an evident eval result (schema {data.get('schema')!r}); "
            "pass the JSON files `evident eval SUITE` writes"
        )
    return data


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out[prefix] = value


def compare(a: dict[str, Any], b: dict[str, Any]) -> dict[str, list[tuple[str, Any, Any, Any]]]:
    """Differences between two results: metrics (with change) and run provenance."""
    metrics = []
    for name in dict.fromkeys([*a["metrics"], *b["metrics"]]):
        x, y = a["metrics"].get(name), b["metrics"].get(name)
        delta = y - x if isinstance(x, int | float) and isinstance(y, int | float) else None
        metrics.append((name, x, y, delta))
    run_a: dict[str, Any] = {}
    run_b: dict[str, Any] = {}
    _flatten("", {"suite": a["suite"], "limit": a.get("limit"), **a["run"]}, run_a)
    _flatten("", {"suite": b["suite"], "limit": b.get("limit"), **b["run"]}, run_b)
    skip = {"started_at", "seconds"}
    provenance = [
        (k, run_a.get(k), run_b.get(k), None)
        for k in dict.fromkeys([*run_a, *run_b])
        if run_a.get(k) != run_b.get(k) and k not in skip
    ]
    return {"metrics": metrics, "provenance": provenance}
