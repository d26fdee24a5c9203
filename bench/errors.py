"""One exception type for every user-facing problem: the CLI prints its one-line message and exits 2."""


class BenchError(Exception):
    """A problem the user can fix; the message names the problem and the fix, on one line."""
