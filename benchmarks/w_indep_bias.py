"""How far the independent critic's `w_indep` is from exact W1, on runs that have both (toy data).

    bench run --variants gan,lsgan,wgan,wgan-gp,sngan,ebgan --arch mlp --seeds 0-4 --evals 10 --name demo
    bench eval results/demo/* --metrics w_indep --w-indep-steps 500 --step all
    python -m benchmarks.w_indep_bias results/demo [more folders]

For every evaluation row with both values: the ratio w_indep / w1_exact and the difference
w_indep - w1_exact. Per data set x variant, per data set overall, and per data set x range of W1
(the bias depends on the distance): points, median ratio with its interquartile range, the share of
points where w_indep exceeds W1 (which a lower bound never does), the median difference, and
Spearman's rho between the two (do they rank generators alike?). The
values come from the runs' metrics.jsonl, merged with the rows `bench eval` appended, as the report
reads them (bench.report.load).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from bench.report.load import FINISHED, load

W1_BINS = [0, 0.25, 0.5, 1, 2, np.inf]


def summary(rows: pd.DataFrame) -> dict:
    w, e = rows["w_indep"].to_numpy(float), rows["w1_exact"].to_numpy(float)
    ratio = w / e
    q1, med, q3 = np.percentile(ratio, [25, 50, 75])
    return {"points": len(w), "runs": rows["run"].nunique(), "median ratio": med, "ratio IQR": f"{q1:.2f}-{q3:.2f}",
            "w_indep > W1": f"{(w > e).mean():.0%}", "median w_indep - W1": float(np.median(w - e)),
            "Spearman": stats.spearmanr(w, e).statistic if len(w) > 2 else np.nan,
            "w_indep_steps": ",".join(str(int(s)) for s in sorted(rows["w_indep_steps"].dropna().unique()))}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description="w_indep against exact W1 on runs that have both")
    p.add_argument("folders", nargs="+", type=Path)
    args = p.parse_args(argv)
    res = load(args.folders)
    rows = res.rows
    if "w_indep" not in rows or "w1_exact" not in rows:
        raise SystemExit("no run has both w_indep and w1_exact; run `bench eval RUN --metrics w_indep "
                         "--w-indep-steps 500 --step all` on toy runs first")
    rows = rows[(rows["status"] == FINISHED) & rows["w_indep"].notna() & rows["w1_exact"].notna()
                & (rows["w1_exact"] > 0)]
    out = []
    for (dataset, variant), g in rows.groupby(["dataset", "variant"]):
        out.append({"dataset": dataset, "variant": variant, **summary(g)})
    for dataset, g in rows.groupby("dataset"):
        out.append({"dataset": dataset, "variant": "(all)", **summary(g)})
    print(pd.DataFrame(out).to_markdown(index=False, floatfmt=".3g"))
    bins = pd.cut(rows["w1_exact"], W1_BINS, right=False)
    out = [{"dataset": dataset, "W1 exact in": str(b), **summary(g)}
           for (dataset, b), g in rows.groupby(["dataset", bins], observed=True)]
    print()
    print(pd.DataFrame(out).to_markdown(index=False, floatfmt=".3g"))


if __name__ == "__main__":
    main()
