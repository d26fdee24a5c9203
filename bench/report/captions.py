"""Every table's title and caption: what was computed, on which runs, and how to read it."""

from __future__ import annotations

from bench.report import correlation as C
from bench.report import floor as F
from bench.report import stats as S

FINISHED_ONLY = ("Statistics are over finished runs (status done); runs still running, interrupted, diverged or "
                 "failed are counted in the runs table and never averaged in.")
GAP_SCALE = ("The critic's gap is on a variant-specific scale (clipped, penalized, normalized or an energy): its "
             "values never compare across variants, only its correlation with quality within a variant does.")
RUNS_UNIT = ("Runs are the unit: each run's correlation is computed over its own evaluation steps, and the mean over "
             "runs is taken through Fisher's z (atanh; a per-run |r| of 1 enters as |z| = "
             f"{S.Z_CAP:g}) with a 95 % t-interval across runs (n − 1 degrees of freedom), so the interval reflects "
             "how much seeds disagree.")
EXPECTED = ("'tracks if': the sign expected when a larger estimate goes with worse samples: + for lower-is-better "
            "measures (↓: W1, FID, KID), − for higher-is-better ones (↑: modes, HQ %, IS).")
FLAGGED = ("'(k flagged)': how many of the runs carry a negative-estimate or collapse flag (see the run list); "
           "`bench report --exclude-flagged` recomputes everything without them.")

TITLES = {
    "verdict": "Does the critic's estimate track quality? Verdict per variant",
    "status": "Runs and sanity flags",
    "final": "Leaderboard: final quality (mean [95 % CI] over seeds, #rank)",
    "best": "Leaderboard: best quality over training (mean [95 % CI] over seeds, #rank)",
    "pairwise": "Pairwise differences between variants (permutation tests over seeds)",
    "corr_detail": "Critic estimate vs quality: every per-run statistic, mean over runs",
    "corr_across": "Critic estimate vs quality: across runs at matched steps",
    "floor": "Noise floor and scale of exact W1",
    "cost": "What the runs cost: training and evaluation time",
    "runs": "Run list",
}

CAPTIONS = {
    "verdict": (
        "For each variant × arch and quality measure, for the held-out estimate critic_gap = E[D(x)] − E[D(G(z))] "
        "and for the same gap on training batches (critic_gap_train): partial ρ is each run's Spearman correlation "
        "between the estimate and the measure over its evaluation steps with training step partialled out (the "
        "ranks of both are regressed on the rank of the step; the residuals are correlated), so a trend that both "
        "share with training time does not count as tracking. " + RUNS_UNIT + " p: t-test of the mean z against "
        "0, Holm-adjusted over every test in this table (both estimates). Verdict: tracks = adjusted p < "
        f"{S.ALPHA} with the expected sign; opposite = adjusted p < {S.ALPHA} with the other sign (the estimate "
        f"moves against quality); no evidence = adjusted p ≥ {S.ALPHA}; too few runs = fewer than {C.MIN_RUNS} "
        f"runs with a value (each run needs {C.MIN_POINTS} evaluations at which both values exist and vary). A "
        "held-out verdict worse than the train one points to an overfit critic rather than a bad estimator. "
        + EXPECTED + " " + FLAGGED + " " + GAP_SCALE),
    "status": (
        "Runs per data set × variant × arch, by status, and finished runs by sanity flag: negative W = a critic "
        "whose gap estimates W1 gave a negative value at some evaluation (a W1 estimate cannot be negative); "
        "collapsed = 0 modes captured at the last evaluation, or final W1 above the W1 of a generator that always "
        "outputs the data's mean; at W1 floor = final W1 within the noise floor (the next-to-last table): "
        "indistinguishable from a perfect generator at this sample size. The first two mark broken runs or "
        "estimates and are left out by --exclude-flagged (excluded); the floor marks a limit of the measure, "
        "never excludes a run. steps/s: generator steps per second of training time, mean ± sd over finished "
        "runs. " + FINISHED_ONLY),
    "final": (
        "Each finished run's value at its last evaluation step; per variant the mean with a 95 % t-interval over "
        "seeds (n − 1 degrees of freedom; no interval with one run) and #rank among the variants of the same data "
        "set × arch (1 = best; ties share the better rank). avg rank: mean of the ranks over the measures. † = at "
        "the W1 noise floor: values there are ranked as equal, since two real samples differ as much. Only "
        "measures computed the same way for every variant appear, so they compare across variants; the critic's "
        "gap does not. ↓ lower is better, ↑ higher is better; HQ % = share of samples within 3 sd of a mode. "
        + FLAGGED + " " + FINISHED_ONLY),
    "best": (
        "As the final-quality leaderboard, on each run's best value over its evaluation steps (minimum for ↓, "
        "maximum for ↑). The best value is chosen after the fact, so it flatters noisy runs; the final value is "
        "the fair comparison. " + FINISHED_ONLY),
    "pairwise": (
        "Every pair of variants of a data set × arch, per quality measure: two-sided permutation test of the "
        "difference in mean final value over seeds (scipy.stats.permutation_test; exact over every split of the "
        f"pooled seeds up to {S.PERMUTATIONS} splits, else {S.PERMUTATIONS} random ones, seed {S.SEED}), "
        "Holm-adjusted over the pairs of that measure. 'smallest possible p' = 2 / C(n_A + n_B, n_A): with few "
        "seeds even a perfect separation cannot be significant after the correction. " + FINISHED_ONLY),
    "corr_detail": (
        "The numbers behind the verdicts, and the analyses it does not use. Per run, over its evaluation steps: "
        "level ρ / τ = Spearman's ρ (scipy.stats.spearmanr) and Kendall's τ-b (scipy.stats.kendalltau) between "
        "the estimate and the measure — these include the trend both share with training time, so a high level "
        "correlation alone is not tracking; Δ ρ / Δ τ = the same on the changes between consecutive evaluations, "
        "which removes a straight-line trend only (when both change fast early and slowly later, their changes "
        "correlate too); partial ρ = with training step partialled out (the verdict's statistic). " + RUNS_UNIT
        + " Brackets are not corrected for multiplicity. " + EXPECTED + " " + FLAGGED + " " + GAP_SCALE),
    "corr_across": (
        "At each evaluation step that every finished run of the variant × arch reached with both values, the rank "
        "correlation across runs (seeds); the mean over those steps (steps = how many), with a 95 % percentile "
        f"bootstrap interval that resamples whole runs ({C.N_RESAMPLES} resamples, seed {C.SEED}). It asks: at the "
        "same point of training, does the run with the larger estimate have the worse samples? It needs at least "
        f"{C.MIN_RUNS_ACROSS} runs. Not corrected for multiplicity; not used by the verdicts. " + EXPECTED),
    "floor": (
        f"Exact W1 between two independent real samples of the size the runs' w1_exact uses, over {F.PAIRS} pairs: "
        "mean ± sd and the 95th percentile. A perfect generator scores like this: a run at or below the 95th "
        "percentile is 'at the floor' and cannot be ranked against another such run. scale: the W1 of a generator "
        "that always outputs the data's mean (the mean distance of real points to their mean); a final W1 above "
        "it flags the run as collapsed. How: the column says how each value was computed (the runs record no "
        "floor, so the report computes it and caches it under $BENCH_CACHE/floors)."),
    "cost": (
        "Per data set × variant × arch and over all finished runs: mean process seconds per run spent training "
        "and evaluating (run.json `timings`, summed over a resumed run's attempts, on the machine that ran it), "
        "evaluation's share of training + evaluation time, and each part of the evaluation's share of the same "
        "total (run.json `eval_split_s`: samples = generating the evaluation samples, pictures = the saved "
        "sample figures, the others one metric each; – where a run did not record the split). The total row "
        "is the study's evaluation fraction."),
    "runs": ("Every run found, with its status — done, running (a process holds its lock), interrupted (stopped "
             "without finishing; `bench run` again resumes it), diverged (a NaN or inf in a loss or in the "
             "generated samples: stopped there, its finite rows kept; the note says when) or failed (an error, "
             "shown) — and its sanity flags. step = last evaluation step / scheduled steps. 'bench eval': values "
             "that `bench eval` recomputed, merged into the rows of their steps (runs.csv says which)."),
}
