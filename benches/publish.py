#!/usr/bin/env python3
"""Publishes a run: the plot (docs/benchmarks/throughput.png), the raw figures
(docs/benchmarks/results.json) and the generated tables, which replace the part of
docs/benchmarks.md between the `results:start` and `results:end` markers."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib.report import SCENARIOS  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
START, END = "<!-- results:start -->", "<!-- results:end -->"


def plot(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = results["rows"]
    shown = [(sid, title) for sid, title, _, _ in SCENARIOS if sid in rows]
    ours = [rows[sid]["portcullis"]["rps"] for sid, _ in shown]
    peer = [rows[sid].get("peer", {}).get("rps", 0) for sid, _ in shown]
    fig, ax = plt.subplots(figsize=(11, 6.5))
    y = range(len(shown))
    ax.barh([i - 0.2 for i in y], ours, height=0.4, label="Portcullis", color="#1f6feb")
    ax.barh([i + 0.2 for i in y], peer, height=0.4, label="oidc-provider (peer)", color="#9a6700")
    for i, (a, b) in enumerate(zip(ours, peer)):
        ax.text(a, i - 0.2, f" {a:,.0f}", va="center", fontsize=8)
        if b:
            ax.text(b, i + 0.2, f" {b:,.0f}", va="center", fontsize=8)
    ax.set_yticks(list(y))
    ax.set_yticklabels([t for _, t in shown], fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("operations per second (log scale); server on one core unless the row says 2 cores")
    ax.set_title("Throughput per scenario, same machine, same run")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "bench")
    with open(os.path.join(src, "results.json")) as f:
        results = json.load(f)
    with open(os.path.join(src, "results.md")) as f:
        tables = f.read()
    docs = os.path.join(ROOT, "docs", "benchmarks")
    os.makedirs(docs, exist_ok=True)
    plot(results, os.path.join(docs, "throughput.png"))
    with open(os.path.join(docs, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    page = os.path.join(ROOT, "docs", "benchmarks.md")
    with open(page) as f:
        text = f.read()
    if START not in text or END not in text:
        sys.exit(f"{page} lacks the {START} / {END} markers")
    head, rest = text.split(START, 1)
    tail = rest.split(END, 1)[1]
    with open(page, "w") as f:
        f.write(head + START + "\n" + tables + "\n![Throughput per scenario](benchmarks/throughput.png)\n\n" + END + tail)
    print(f"published to {page} and {docs}/")


if __name__ == "__main__":
    main()
