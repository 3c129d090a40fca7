"""Timing, one idea per module; imports go down the table, never up.

| module | what |
|---|---|
| measurement.py | `Measurement` / `Comparison` (numbers and warnings), contention, `timeit` in this process |
| servers.py | fresh processes forked from several preloaded servers, one address layout each (`in_fresh_process`) |
| rounds.py | a speed ratio over rounds, each model alone in a fresh process (`compare`, `time_side`), spread over pairs of nets, e.g. seeds (`compare_pairs`) |
| latency.py | one model's latency per runtime x batch size, each in a fresh process (`bench_checkpoint`) |
| peaks.py | attainable peak FLOP/s and memory bandwidth on a profile's threads (the roofline's figures) |
| explain.py | where a net's time goes (fixed cost, per-layer time and GFLOP/s) and why a realisation falls short |
| inference.py | a compacted checkpoint's speedup over its baseline (explained at batch 64), the A/A calibration |
| training.py | one method's training step against another's |
| levels.py | variance between processes and within one (Kalibera and Jones), for the docs' figures |

Statistics (intervals over rounds, bootstrap over seeds) are in the pure `dropbench.stats`.
"""
