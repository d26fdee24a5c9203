"""`bench report`: read results folders back and answer the harness's question in tables and figures.

    load.py         results folders -> pandas frames (runs, wide per-step rows, the long frame)
    measures.py     which metric keys are quality measures, and which way is better
    tables.py       mean ± std over seeds, status counts, display formatting
    correlation.py  critic estimate vs quality: Spearman / Kendall with bootstrap intervals
    figures.py      the five figures (seaborn), PNG and PDF
    build.py        assembles tables (with captions) and figures
    render.py       Markdown, LaTeX, CSV and the terminal
    html.py         one self-contained HTML page
    command.py      the click command

The report only reads files; it never recomputes a metric.
"""
