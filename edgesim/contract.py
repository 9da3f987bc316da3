"""The names of the run- and sweep-directory files and their columns: the interface other tools rely on."""

SCENARIO_FILE = "scenario.yaml"
EVENTS_FILE = "events.csv"
EVENTS_PARQUET_FILE = "events.parquet"
"""The event table written as Parquet (``EventLog(format="parquet")``) instead of ``events.csv``."""
METRICS_FILE = "metrics.csv"
ARCHIVED_METRICS_FILE = "metrics.csv.gz"
"""``metrics.csv`` gzipped, as an archived run keeps it (``analysis/archive_sweep.py``); read in its place."""
SUMMARY_FILE = "summary.json"
CHECKPOINT_DIR = "checkpoint"
"""Present while a run can be resumed (``edgesim run --resume``)."""
SWEEP_FILE = "sweep.csv"
LABELS_FILE = "labels.json"
"""Beside ``sweep.csv`` when the scenario gives ``sweep.labels``: ``{column: {cell: label}}``."""
SWEEP_SUMMARY_CSV, SWEEP_SUMMARY_MD = "summary.csv", "summary.md"
"""The sweep's answer, written beside ``sweep.csv`` (``edgesim.results.sweep_summary``)."""
REPORT_FILE = "report.html"
"""The self-contained page ``edgesim plot`` writes into a run or sweep directory."""

RUN_FIGURES = ("accuracy.png", "staleness.png", "timeline.png", "k.png", "lr.png", "iteration_time.png",
               "dominance.png")
"""What ``edgesim plot`` may write into a run directory."""
SWEEP_FIGURES = ("sweep_accuracy.png", "sweep_time_to_target.png", "sweep_staleness.png", "sweep_bytes_time.png",
                 "sweep_energy_time.png")
"""What ``edgesim plot`` may write into a sweep directory."""

EVENT_COLUMNS = ("sim_time_s", "device", "kind", "round", "model_version", "staleness", "bytes", "duration_s",
                 "energy_j")
"""``events.csv``."""

LATER_EVENT_COLUMNS = ("energy_j",)
"""Columns of ``events.csv`` that runs written by earlier versions of edgesim lack (read as empty)."""

METRIC_COLUMNS = ("sim_time_s", "round", "model_version", "accuracy", "loss")
"""The first columns of ``metrics.csv``; algorithms append their own."""

SWEEP_ID_COLUMNS = ("variant", "run_dir")
"""The first columns of ``sweep.csv``; the swept parameters follow, then ``SWEEP_SUMMARY_COLUMNS``."""

SWEEP_SUMMARY_COLUMNS = (
    "status", "reason", "sim_time_s", "rounds", "final_accuracy", "best_accuracy", "target_accuracy",
    "time_to_target_s", "rounds_to_target", "bytes_up", "bytes_down", "updates_applied", "updates_discarded",
    "staleness_mean", "staleness_p50", "staleness_p95", "failures", "energy_j", "energy_to_target_j",
    "energy_lost_share", "battery_dropouts", "wall_time_s",
)
