"""The results of `dcgan tune`: a table (printed), OUT/trials.csv, OUT/results.json, OUT/best_config.json and a
plot of the validation FID per trial with the best so far (OUT/fid.svg, drawn here as plain SVG: no plotting
library needed)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from dcgan.atomic import atomic_path, write_json_atomic, write_text_atomic
from dcgan.tuning.space import searched

RESULTS_FILE = "results.json"
CSV_FILE = "trials.csv"
PLOT_FILE = "fid.svg"


def trial_rows(study, param_names: list[str]) -> list[dict[str, Any]]:
    """One JSON-ready row per trial, in trial order."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        attrs = t.user_attrs
        rows.append(
            {
                "trial": t.number,
                "state": t.state.name,
                "fid": t.value if t.state.name == "COMPLETE" else None,
                "kid_mean": attrs.get("kid_mean"),
                "kid_std": attrs.get("kid_std"),
                "params": {name: t.params.get(name) for name in param_names},
                "steps": attrs.get("steps"),
                "train_seconds": attrs.get("train_seconds"),
                "eval_seconds": attrs.get("eval_seconds"),
                "retry_of": attrs.get("retry_of"),
                "note": attrs.get("note", ""),
                "run_dir": attrs.get("run_dir"),
                "model_dir": attrs.get("model_dir"),
            }
        )
    return rows


def best_row(rows: list[dict]) -> dict | None:
    """The completed trial with the lowest validation FID (the lower trial number on a tie); None when none is."""
    complete = [r for r in rows if r["fid"] is not None]
    return min(complete, key=lambda r: (r["fid"], r["trial"])) if complete else None


def format_value(value: Any) -> str:
    """A table cell: "-" for None, 4 significant digits for a float."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def format_table(rows: list[dict], param_names: list[str], best: int | None, test: dict | None = None) -> str:
    """The printed table of trials, the winner marked *, and the winner's test score when there is one."""
    header = ["", "trial", "state", "FID", "KID×10³", *param_names, "steps", "note"]
    body = []
    for r in rows:
        kid = "-" if r["kid_mean"] is None else f"{1e3 * r['kid_mean']:.3g}±{1e3 * r['kid_std']:.2g}"
        fid = "-" if r["fid"] is None else f"{r['fid']:.3f}"
        params = [format_value(r["params"].get(name)) for name in param_names]
        note = r["note"] + (f" (retry of {r['retry_of']})" if r["retry_of"] is not None else "")
        body.append(
            [
                "*" if r["trial"] == best else "",
                str(r["trial"]),
                r["state"],
                fid,
                kid,
                *params,
                format_value(r["steps"]),
                note.strip(),
            ]
        )
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in [header, *body]]
    if best is not None:
        lines.append(f"* best on the validation split: trial {best}")
    if test is not None:
        lines.append(
            f"test split, winner trial {test['trial']}: FID {test['fid']:.3f}, KID×10³ "
            f"{1e3 * test['kid_mean']:.3g} ± {1e3 * test['kid_std']:.2g} ({test['n_generated']} samples vs "
            f"{test['n_reference']} test images, {test['extractor']})"
        )
    return "\n".join(lines)


def write_csv(rows: list[dict], param_names: list[str], best: int | None, path: Path) -> Path:
    """trials.csv: one row per trial, the searched params as columns."""
    columns = ["trial", "state", "best", "fid", "kid_mean", "kid_std", *param_names]
    columns += ["steps", "train_seconds", "eval_seconds", "retry_of", "note", "run_dir"]
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        for r in rows:
            flat = {k: v for k, v in r.items() if k in columns}
            writer.writerow({**flat, **r["params"], "best": r["trial"] == best})
    return path


def write_svg_plot(rows: list[dict], path: Path, title: str, ylabel: str) -> Path:
    """A dependency-free SVG: validation FID of each completed trial and the best so far."""
    width, height, left, right, top, bottom = 720, 420, 80, 30, 50, 60
    points = [(r["trial"], r["fid"]) for r in rows if r["fid"] is not None]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="24" text-anchor="middle" font-size="15">{escape(title)}</text>',
    ]
    if not points:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle">no completed trials yet</text>')
    else:
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        x0, x1 = min(xs) - 0.5, max(xs) + 0.5
        pad = (max(ys) - min(ys)) * 0.08 or max(abs(ys[0]) * 0.1, 1e-3)
        y0, y1 = min(ys) - pad, max(ys) + pad

        def sx(x: float) -> float:
            return left + (x - x0) / (x1 - x0) * (width - left - right)

        def sy(y: float) -> float:
            return top + (y1 - y) / (y1 - y0) * (height - top - bottom)

        bottom_y, right_x = height - bottom, width - right
        parts.append(
            f'<rect x="{left}" y="{top}" width="{right_x - left}" height="{bottom_y - top}" fill="none" stroke="#444"/>'
        )
        for i in range(6):
            value = y0 + (y1 - y0) * i / 5
            parts.append(f'<line x1="{left}" x2="{right_x}" y1="{sy(value):.1f}" y2="{sy(value):.1f}" stroke="#ddd"/>')
            parts.append(f'<text x="{left - 6}" y="{sy(value) + 4:.1f}" text-anchor="end">{value:.4g}</text>')
        step = max(1, math.ceil((max(xs) - min(xs) + 1) / 10))
        for x in range(min(xs), max(xs) + 1, step):
            parts.append(f'<text x="{sx(x):.1f}" y="{bottom_y + 18}" text-anchor="middle">{x}</text>')
        parts.append(f'<text x="{(left + right_x) / 2}" y="{height - 18}" text-anchor="middle">trial</text>')
        parts.append(
            f'<text transform="translate(18 {(top + bottom_y) / 2}) rotate(-90)" '
            f'text-anchor="middle">{escape(ylabel)}</text>'
        )
        best, line = math.inf, []
        for x, y in points:
            if y < best:
                if line:
                    line.append(f"{sx(x):.1f},{sy(best):.1f}")
                best = y
            line.append(f"{sx(x):.1f},{sy(best):.1f}")
        parts.append(f'<polyline points="{" ".join(line)}" fill="none" stroke="#d62728" stroke-width="2"/>')
        winner = min(points, key=lambda p: (p[1], p[0]))
        for x, y in points:
            parts.append(
                f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="4" fill="#1f77b4"><title>trial {x}: '
                f"FID {y:.4g}</title></circle>"
            )
        parts.append(
            f'<circle cx="{sx(winner[0]):.1f}" cy="{sy(winner[1]):.1f}" r="8" fill="none" '
            'stroke="#d62728" stroke-width="2"/>'
        )
        parts.append(
            f'<rect x="{right_x - 162}" y="{top + 4}" width="156" height="42" fill="white" '
            'fill-opacity="0.85" stroke="#ccc"/>'
        )
        parts.append(
            f'<circle cx="{right_x - 150}" cy="{top + 14}" r="4" fill="#1f77b4"/>'
            f'<text x="{right_x - 140}" y="{top + 18}">trial FID</text>'
            f'<line x1="{right_x - 156}" x2="{right_x - 144}" y1="{top + 32}" y2="{top + 32}" '
            f'stroke="#d62728" stroke-width="2"/><text x="{right_x - 140}" y="{top + 36}">best so far</text>'
        )
    parts.append("</svg>")
    write_text_atomic(path, "\n".join(parts) + "\n")
    return path


def report(study, out: Path, space: dict[str, dict], settings: dict, storage: str, echo: bool = True) -> dict:
    """Table (printed), CSV, JSON, best config and plot of the study so far; returns the JSON dict."""
    params = searched(space)
    rows = trial_rows(study, params)
    best = best_row(rows)
    test = study.user_attrs.get("test")
    best_number = best["trial"] if best else None
    if test is not None and test.get("trial") != best_number:
        test = None  # from an earlier winner: kept in the study's test_history, not reported as the winner's
    results: dict[str, Any] = {
        "study": study.study_name,
        "storage": storage,
        "out": str(out),
        "settings": settings,
        "searched": params,
        "counts": {state: sum(r["state"] == state for r in rows) for state in sorted({r["state"] for r in rows})},
        "best": None,
        "test": test,
        "test_history": study.user_attrs.get("test_history", []),
        "trials": rows,
        "files": {"csv": CSV_FILE, "plot": PLOT_FILE},
    }
    if best is not None:
        config_path = out / best["run_dir"] / "config.json"
        config = json.loads(config_path.read_text()) if config_path.exists() else None
        results["best"] = {
            "trial": best["trial"],
            "params": best["params"],
            "val": {k: best[k] for k in ("fid", "kid_mean", "kid_std")},
            "config": config,
            "run_dir": best["run_dir"],
            "model_dir": best["model_dir"],
        }
        if config is not None:
            write_json_atomic(out / "best_config.json", config)
            results["files"]["best_config"] = "best_config.json"
    write_csv(rows, params, best_number, out / CSV_FILE)
    title = f"dcgan tune: {study.study_name}"
    ylabel = f"validation FID ({settings['extractor']})"
    write_svg_plot(rows, out / PLOT_FILE, title, ylabel)
    write_json_atomic(out / RESULTS_FILE, results)
    if echo:
        print(format_table(rows, params, best_number, test))
        print(f"wrote {out / RESULTS_FILE}, {out / CSV_FILE}, {out / PLOT_FILE}")
    return results


def print_trial(study, trial, seconds: float) -> None:
    """One line on a finished trial: its params and FID (and the best so far), or why it was pruned or failed."""
    params = ", ".join(f"{k}={format_value(v)}" for k, v in trial.params.items())
    if trial.state.name == "COMPLETE":
        best = study.best_trial
        outcome = f"FID {trial.value:.3f}, KID {trial.user_attrs.get('kid_mean', math.nan):.4g} (best: trial "
        outcome += f"{best.number}, FID {best.value:.3f})"
    else:
        outcome = f"{trial.state.name.lower()}: {trial.user_attrs.get('note', '')}"
    print(f"trial {trial.number} [{seconds:.0f} s] {params} → {outcome}", flush=True)
