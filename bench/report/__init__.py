"""`bench report`: read results folders back and answer the harness's question in tables and figures.

    load.py            results folders -> pandas frames (runs, wide per-step rows, the long frame);
                       rows `bench eval` appended are merged into the rows of their steps
    measures.py        what each metric key means (label, direction, kind), as the runs declare it
    legacy.py          the same for runs written before runs declared it: the old built-in table
    stats.py           the statistics: rank correlations, partial rho, Fisher-z means, Holm, power,
                       t-intervals, permutation tests
    correlation.py     critic estimate vs quality with runs as the unit: per run, per group, across runs
    verdict.py         tracks / opposite / no evidence / too few runs, Holm-corrected over the table
    floor.py           the noise floor and scale of exact W1 per data set and size (computed, cached)
    flags.py           sanity flags per run: negative W estimate, collapse, at the W1 floor
    leaderboard.py     between variants: means with t-intervals, ranks, pairwise permutation tests
    tables.py          run-level tables (status, the run list) and number formatting
    display.py         formatted display frames of the statistical tables
    captions.py        every table's title and caption
    figures.py         figures 1, 2 and 5 (seaborn), PNG and PDF
    sample_figures.py  figures 3 and 4: the median run's samples
    build.py           assembles tables (with captions) and figures
    render.py          Markdown, LaTeX, CSV and the terminal
    html.py            one self-contained HTML page
    command.py         the click command

The report only reads files and never recomputes a metric; the one number it computes itself is the
W1 noise floor (floor.py), which the runs do not record.
"""
