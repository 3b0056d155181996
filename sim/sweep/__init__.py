"""`monerosim sweep`: a scenario over seeds × parameter values, each point a run directory.

grid.py builds and checks the grid (SWEEP/sweep.json), point.py runs one point on a worker,
execute.py runs the points on Dask, resuming and retrying once. `monerosim compare`
(sim.compare) turns the run directories into figures with confidence intervals.

    SWEEP/sweep.json          the grid: scenario, seeds, swept and fixed params, points
    SWEEP/runs/<point>/       each point's run directory (`monerosim run --out`)
    SWEEP/points/<point>.json each point's record: verdict, exit code, attempts
    SWEEP/attempts/<point>.N/ run directories of earlier attempts (failed or cut off), kept
    SWEEP/logs/<point>.N.log  what `monerosim run` printed, per attempt
    SWEEP/verdicts.csv        a line per point
    SWEEP/compare/            compare.html, figures.csv, intervals.csv, plots
"""
