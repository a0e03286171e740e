"""Colorizing an archive: many files, a manifest that makes runs resumable, and an engine
that runs the work in this process (`local`) or on a Ray cluster (`ray`).

    plan.py      the input files and the options -> the jobs still to do (skips what is done)
    manifest.py  OUT/manifest.sqlite, one row per (input path, method), written per result
    worker.py    a job -> colorized PNGs (with provenance) and one result per method
    engines.py   where the workers run: `local` (this process) or `ray`
    ray_engine.py  the actors of a Ray Data pool, embedded (127.0.0.1) or on a cluster
    run.py       the command: plan, run an engine, record results as they arrive, progress
"""
