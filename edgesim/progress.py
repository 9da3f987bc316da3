"""A progress bar over simulated time: how far the clock is, the round, the last accuracy."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from edgesim.coordinator import Progress as RunProgress


def describe_time(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.1f}min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


class SimulatedTimeBar:
    """Context manager; ``update(now, progress)`` is the coordinator's progress callback."""

    def __init__(self, name: str, horizon_s: float, console: Console | None = None, enabled: bool = True):
        self.horizon_s = horizon_s
        self._bar = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[clock]}"),
            TextColumn("round {task.fields[round]}"), TextColumn("acc {task.fields[accuracy]}"),
            TimeElapsedColumn(), console=console, disable=not enabled, transient=False,
        )
        self._task = self._bar.add_task(name, total=horizon_s, clock="0s", round=0, accuracy="-")

    def __enter__(self):
        self._bar.__enter__()
        return self

    def __exit__(self, *exc):
        return self._bar.__exit__(*exc)

    def update(self, now: float, progress: RunProgress) -> None:
        accuracy = "-" if progress.last_accuracy is None else f"{progress.last_accuracy:.4f}"
        clock = f"{describe_time(now)} / {describe_time(self.horizon_s)}"
        self._bar.update(self._task, completed=min(now, self.horizon_s), clock=clock, round=progress.rounds,
                         accuracy=accuracy)
