"""The command line (click): `bench run`, `sweep`, `status`, `cancel`, `eval`, `report`, `classifier`, `list`.

The top tier: it parses options into the config dataclasses and calls the sweep and training tiers;
nothing below imports it. `main` is the console script's entry point (`bench = "bench.cli:main"`).
"""

from bench.cli.app import main

__all__ = ["main"]
