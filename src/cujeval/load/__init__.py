"""Open-loop load (``cujeval load``): profile (steps, arrivals), recorders (bounded samples,
time series), engine (the run stage: requests at their times, scoring, each step judged),
signals (golden signals, per-step report, the knee), cost (per successful journey), hist
(log-bucketed histograms), metrics (the target's /metrics scraped for saturation)."""
