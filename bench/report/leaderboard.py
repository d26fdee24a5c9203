"""Between variants: a leaderboard per data set x arch, and pairwise permutation tests over seeds.

Only quality measures enter (W1, FID, w_indep, modes, ...): they are computed the same way for every
variant, so they compare across variants. The critic's own gap never does (each variant's critic
has its own scale).

  leaderboard  per variant and measure: mean of the runs' final (or best) values with a 95 %
               t-interval over seeds, and the variant's rank (1 = best; ties share the better rank).
               Exact W1 values at or below the noise floor (bench.report.floor) are ranked as equal
               to the floor: such runs cannot be told apart. Average rank over the measures with a
               known direction.
  pairwise     every pair of variants, per measure: a two-sided permutation test of the difference
               in mean final value over seeds (stats.permutation_p), Holm-adjusted over the pairs of
               that measure. With few seeds the smallest attainable p (2 / C(n1 + n2, n1)) can exceed
               Holm's first threshold; then no pair can be significant and the note says so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.report import stats as S
from bench.report.floor import Reference
from bench.report.load import FINISHED, Results

from bench.report.tables import per_run_values

BOARD = ["dataset", "arch"]
LB_COLS = [*BOARD, "variant", "setting", "measure", "which", "mean", "ci_low", "ci_high", "n", "flagged", "at_floor",
           "rank"]
PAIR_COLS = [*BOARD, "measure", "a", "b", "n_a", "n_b", "mean_a", "mean_b", "p", "p_holm", "min_p", "result"]


def _values(res: Results) -> pd.DataFrame:
    v = per_run_values(res)
    v = v[v["status"] == FINISHED].copy()
    v["entry"] = v["variant"]
    several = v.groupby([*BOARD, "variant"])["setting"].transform("nunique") > 1
    v.loc[several, "entry"] = v["variant"] + " · " + v["setting"]
    return v


def _floor_of(refs: dict[str, Reference], runs: pd.Series) -> float | None:
    qs = {refs[r].floor_q95 for r in runs if r in refs and refs[r].ok}
    return max(qs) if len(qs) else None


def leaderboard(res: Results, refs: dict[str, Reference], flagged: set[str]) -> pd.DataFrame:
    v = _values(res)
    out = []
    for (*board, key), g in v.groupby([*BOARD, "measure"], sort=False):
        m = res.measures.get(key)
        floor = _floor_of(refs, g["run"]) if key == "w1_exact" else None
        for which in ("final", "best"):
            if which == "best" and not m.direction:
                continue
            rows = []
            for (entry, variant, setting), e in g.groupby(["entry", "variant", "setting"], sort=True):
                vals = e[which].to_numpy(float)
                ok = np.isfinite(vals)
                mean, lo, hi = S.t_interval(vals)
                rows.append({**dict(zip(BOARD, board)), "variant": entry, "setting": setting, "measure": key,
                             "which": which, "mean": mean, "ci_low": lo, "ci_high": hi, "n": int(ok.sum()),
                             "flagged": int(e.loc[ok, "run"].isin(flagged).sum()),
                             "at_floor": bool(floor is not None and np.isfinite(mean) and mean <= floor)})
            frame = pd.DataFrame(rows)
            if m.direction and len(frame):
                score = frame["mean"].clip(lower=floor) if floor is not None else frame["mean"]
                frame["rank"] = score.rank(method="min", ascending=m.direction == "lower")
            else:
                frame["rank"] = np.nan
            out.append(frame)
    if not out:
        return pd.DataFrame(columns=LB_COLS)
    return pd.concat(out, ignore_index=True)[LB_COLS]


def average_rank(board: pd.DataFrame, which: str) -> pd.DataFrame:
    b = board[(board["which"] == which) & board["rank"].notna()]
    return b.groupby([*BOARD, "variant"], sort=False)["rank"].agg(["mean", "count"]).reset_index()


def pairwise(res: Results) -> tuple[pd.DataFrame, list[str]]:
    """Every pair of variants per data set x arch x measure (final values), and notes on the families
    in which the seed counts make a significant difference impossible."""
    v = _values(res)
    out, notes, hopeless = [], [], {}
    for (*board, key), g in v.groupby([*BOARD, "measure"], sort=False):
        m = res.measures.get(key)
        vals = {e: x["final"].to_numpy(float) for e, x in g.groupby("entry", sort=True)}
        vals = {e: x[np.isfinite(x)] for e, x in vals.items()}
        vals = {e: x for e, x in vals.items() if len(x) >= 2}
        names = sorted(vals)
        pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
        if not pairs:
            continue
        rows = []
        for a, b in pairs:
            x, y = vals[a], vals[b]
            p = S.permutation_p(x, y) if np.ptp(np.concatenate([x, y])) > 0 else 1.0
            rows.append({**dict(zip(BOARD, board)), "measure": key, "a": a, "b": b, "n_a": len(x), "n_b": len(y),
                         "mean_a": x.mean(), "mean_b": y.mean(), "p": p,
                         "min_p": S.min_permutation_p(len(x), len(y))})
        frame = pd.DataFrame(rows)
        frame["p_holm"] = S.holm(frame["p"])
        frame["result"] = [_result(m.direction, r) for _, r in frame.iterrows()]
        if (frame["min_p"] > S.ALPHA / len(frame)).all():
            lo, hi = int(frame[["n_a", "n_b"]].min().min()), int(frame[["n_a", "n_b"]].max().max())
            hopeless.setdefault(("/".join(board), lo, hi, frame["min_p"].min(), len(frame)), []).append(m.label)
        out.append(frame)
    for (board, lo, hi, min_p, n), labels in hopeless.items():  # one line per data set x arch, not per measure
        notes.append(f"{board} ({', '.join(labels)}): with {lo if lo == hi else f'{lo}–{hi}'} seeds per variant the "
                     f"smallest attainable p is {min_p:.2g} > {S.ALPHA}/{n} (Holm's first threshold over {n} pairs): "
                     "no pair can be significant; more seeds are needed.")
    if not out:
        return pd.DataFrame(columns=PAIR_COLS), notes
    return pd.concat(out, ignore_index=True)[PAIR_COLS], notes


def _result(direction: str | None, r: pd.Series) -> str:
    if not r["p_holm"] < S.ALPHA:
        return "no significant difference"
    lower = r["a"] if r["mean_a"] < r["mean_b"] else r["b"]
    higher = r["b"] if lower == r["a"] else r["a"]
    if direction == "lower":
        return f"{lower} better"
    if direction == "higher":
        return f"{higher} better"
    return f"{higher} higher"
