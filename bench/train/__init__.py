"""The training wing: everything that turns a RunConfig into a trained run folder.

    loop.py      the only training loop, for K >= 1 members: decide, resume, step, evaluate, checkpoint,
                 divergence, stop, finish (the CLI and the sweep jobs call it)
    member.py    one run's training state: data, seeded streams, variant, G, D, optimizers, step, loss sums
    engine.py    one run's steps (the variant's hooks, backward, optimizer); joint scoring
    packed.py    K runs' steps as one: stacked parameters under torch.func.vmap (engine only)
    capture.py   how a step runs: eagerly, compiled, or as a CUDA graph (against capture.Steppable)
    evaluate.py  one metrics row per evaluation step
    record.py    run.json: environment, start and finish, what each metrics key means, last words
"""
