"""Speed benchmarks: `python -m benchmarks.NAME --device cuda|cpu` prints our runner's generator steps/s
next to a plain PyTorch loop of the same model, batch and step, in the same process, and the ratio."""
