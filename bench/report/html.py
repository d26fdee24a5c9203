"""One self-contained HTML page: the tables, the figures embedded as base64 PNG, and the protocol
behind each number. No script, no external stylesheet, font or image: it opens offline and can be
mailed as one file. Every string that comes from a results folder (run ids, config values, error
messages, protocol texts) is escaped, through html.escape or pandas' to_html(escape=True).
"""

from __future__ import annotations

import base64
import json
import time
from collections import Counter
from html import escape
from pathlib import Path

import pandas as pd

from bench.report.build import Report, Table
from bench.report.load import STATUSES
from bench.report.measures import ESTIMATE

CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2733; margin: 0;
       background: #f7f8fa; }
main { max-width: 1400px; margin: 0 auto; padding: 1.5rem 2rem 4rem; background: #fff; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #d5dbe3; }
h3 { margin-top: 1.6rem; font-size: 1.05rem; }
.meta, .caption, figcaption { color: #4a5868; max-width: 95ch; }
.note { border-left: 3px solid #b0413e; padding-left: .6rem; max-width: 95ch; }
nav ul { columns: 2; padding-left: 1.2rem; }
table.bench { border-collapse: collapse; margin: .6rem 0 1rem; font-size: 13px; }
table.bench th, table.bench td { padding: .25rem .6rem; border-bottom: 1px solid #e3e7ec; text-align: left;
                                 vertical-align: top; }
table.bench thead th { border-bottom: 2px solid #1d2733; }
table.bench tbody tr:hover { background: #f1f5fa; }
.scroll { overflow-x: auto; }
figure { margin: 1rem 0 2rem; } figure img { max-width: 100%; height: auto; border: 1px solid #e3e7ec; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
"""


def _table_html(df: pd.DataFrame) -> str:
    if not len(df):
        return "<p><em>(no rows)</em></p>"
    return '<div class="scroll">' + df.to_html(index=False, escape=True, classes="bench", border=0,
                                               na_rep="–") + "</div>"


def _section_table(t: Table) -> str:
    notes = "".join(f'<p class="note">{escape(n)}</p>' for n in t.notes)
    return (f'<section id="{escape(t.name)}"><h3>{escape(t.title)}</h3>'
            f'<p class="caption">{escape(t.caption)}</p>{_table_html(t.display)}{notes}</section>')


def _img(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _distinct(values) -> list[tuple[str, int]]:
    """Distinct texts with how many runs have each (as strings, for JSON-like values too)."""
    texts = [v if isinstance(v, str) else json.dumps(v, sort_keys=True) for v in values if v not in (None, "", {})]
    return Counter(texts).most_common()


def _protocol(report: Report) -> str:
    res = report.results
    recs = res.records
    parts = ['<section id="protocol"><h2>Protocol: how each number was made</h2>']

    # What each metric is, as the runs recorded it.
    proto: dict[str, list[str]] = {}
    for rec in recs.values():
        for metric, text in (rec.get("protocol") or {}).items():
            proto.setdefault(metric, []).append(text)
    rows = [{"metric": m, "protocol (as recorded in run.json)": t, "runs": n}
            for m, texts in sorted(proto.items()) for t, n in _distinct(texts)]
    parts += ["<h3>Metrics</h3>", '<p class="caption">The protocol text each run recorded for each metric; '
              "a metric listed twice was computed differently in different runs.</p>", _table_html(pd.DataFrame(rows))]

    # What the critic's estimate means, per variant.
    rows = []
    for _, r in res.runs.drop_duplicates(["variant", "arch"]).iterrows():
        rec = recs[r["run"]]
        v = rec.get("variant") or {}
        rows.append({"variant": r["variant"], "arch": r["arch"], "critic": v.get("critic_kind"),
                     "critic norm": rec.get("critic_norm"), "estimates W1": v.get("estimates_wasserstein"),
                     f"what {ESTIMATE} is": v.get("gap_meaning")})
    parts += [f"<h3>The critic's estimate ({ESTIMATE}) per variant</h3>", _table_html(pd.DataFrame(rows))]

    # Settings: the full configuration shared by each group's runs (seed and device aside).
    rows = []
    for _, r in res.runs.drop_duplicates(["setting", "variant", "arch", "dataset"]).iterrows():
        cfg = recs[r["run"]]["config"]
        s = cfg.get("schedule", {})
        rows.append({"setting": r["setting"], "dataset": r["dataset"], "variant": r["variant"], "arch": r["arch"],
                     "schedule": f"{s.get('preset')}: {s.get('steps')} steps, batch {s.get('batch_size')}, "
                                 f"n_eval {s.get('n_eval')}, eval steps {s.get('eval_steps')}",
                     "hyperparameters": json.dumps(cfg.get("hyper"), sort_keys=True),
                     "arch params": json.dumps(cfg.get("arch_params"), sort_keys=True),
                     "--set": json.dumps(cfg.get("sets"), sort_keys=True)})
    parts += ["<h3>Settings</h3>", '<p class="caption">Runs are pooled only within one setting: the same '
              "configuration except seed and device (the setting is a hash of it).</p>",
              _table_html(pd.DataFrame(rows))]

    # Missing values and their reasons.
    miss = res.long[res.long["missing"] != ""]
    if len(miss):
        m = miss.groupby(["metric", "missing"]).agg(values=("value", "size"), runs=("run", "nunique")).reset_index()
        parts += ["<h3>Missing values</h3>", '<p class="caption">Metric values a run could not compute, and why '
                  "(they are never filled in).</p>", _table_html(m.rename(columns={"missing": "reason"}))]

    # Where and with what the numbers were made.
    rows = []
    for label, key in [("device", "device"), ("versions", "versions"), ("git commit", "git_commit"), ("host", "host")]:
        for text, n in _distinct(rec.get(key) for rec in recs.values()):
            rows.append({"what": label, "value": text, "runs": n})
    parts += ["<h3>Environment</h3>", _table_html(pd.DataFrame(rows))]
    if res.ignored:
        rows = [{"folder": str(p), "why": why} for p, why in res.ignored]
        parts += ["<h3>Folders left out</h3>", _table_html(pd.DataFrame(rows))]
    parts.append("</section>")
    return "\n".join(parts)


def write_html(report: Report, out: Path, title: str, sources: list[Path]) -> Path:
    res = report.results
    counts = Counter(res.runs["status"])
    status = ", ".join(f"{counts[s]} {s}" for s in STATUSES if counts[s])
    toc = [f'<li><a href="#{escape(t.name)}">{escape(t.title)}</a></li>' for t in report.tables]
    toc += [f'<li><a href="#fig-{escape(f.name)}">{escape(f.title)}</a></li>' for f in report.figures]
    toc.append('<li><a href="#protocol">Protocol: how each number was made</a></li>')
    body = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">{len(res.runs)} runs ({escape(status)}) from '
        + ", ".join(f"<code>{escape(str(s))}</code>" for s in sources)
        + f"; generated {escape(time.strftime('%Y-%m-%d %H:%M %Z'))} by <code>bench report</code>. "
          "Every number is read from the runs' run.json and metrics.jsonl; nothing is recomputed.</p>",
        "<nav><ul>" + "".join(toc) + "</ul></nav>",
        '<h2 id="tables">Tables</h2>',
        *[_section_table(t) for t in report.tables],
    ]
    if report.figures:
        body.append('<h2 id="figures">Figures</h2>')
        for f in report.figures:
            body.append(
                f'<figure id="fig-{escape(f.name)}"><h3>{escape(f.title)}</h3>'
                f'<img src="{_img(f.png)}" alt="{escape(f.title)}">'
                f"<figcaption>{escape(f.caption)} (PDF: <code>{escape(f.pdf.relative_to(out).as_posix())}</code>)"
                "</figcaption></figure>"
            )
    body.append(_protocol(report))
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head>\n<body><main>\n"
        + "\n".join(body)
        + "\n</main></body></html>\n"
    )
    path = out / "report.html"
    tmp = path.with_name(".report.html.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    return path
