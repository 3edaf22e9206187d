# maillab's benchmark suite: `python -m bench [NAME...]` (or `./maillab bench`).
#
# Speed is measured here, never asserted in tests. Each benchmark runs the measured
# thing and its baseline (a real Postfix, smtp-sink...) in the same run, several
# times, and reports median, min, max and the ratio to the baseline
# (registry.py: the benchmarks and their results; report.py: table and JSON).
