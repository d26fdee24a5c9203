"""Sweeps on a cluster: a grid of runs planned from flags or a YAML file, submitted with submitit
(SLURM job arrays, local processes or in process), their code snapshot, resource profiles,
automatic retries, and where a sweep stands. Calls the training tier; the CLI calls it."""
