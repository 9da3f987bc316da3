"""Column names of the run- and sweep-directory files: the interface other tools rely on."""

EVENT_COLUMNS = ("sim_time_s", "device", "kind", "round", "model_version", "staleness", "bytes", "duration_s")
"""``events.csv``."""

METRIC_COLUMNS = ("sim_time_s", "round", "model_version", "accuracy", "loss")
"""The first columns of ``metrics.csv``; algorithms append their own."""

SWEEP_ID_COLUMNS = ("variant", "run_dir")
"""The first columns of ``sweep.csv``; the swept parameters follow, then ``SWEEP_SUMMARY_COLUMNS``."""

SWEEP_SUMMARY_COLUMNS = (
    "status", "sim_time_s", "rounds", "final_accuracy", "best_accuracy", "target_accuracy", "time_to_target_s",
    "bytes_up", "bytes_down", "updates_applied", "updates_discarded", "failures", "wall_time_s",
)
