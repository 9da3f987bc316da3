"""Rich tables of device and network profiles (built-in or from a scenario)."""

from __future__ import annotations

from typing import Mapping

from rich.console import Console
from rich.table import Table

from edgesim.distributions import BaseDistribution
from edgesim.profiles.models import DeviceProfile, NetworkProfile


def _num(x: float) -> str:
    """A number without trailing zeros: 250, 0.35, 1e+04."""
    return f"{x:g}"


def describe_distribution(d: object) -> str:
    """One compact line for a Distribution (its ``describe()``), e.g. ``lognormal median 50 σ0.4``.

    Accepts a distribution model or a bare number (a constant).
    """
    if isinstance(d, BaseDistribution):
        return d.describe()
    if isinstance(d, (int, float)) and not isinstance(d, bool):
        return _num(d)
    raise TypeError(f"not a distribution: {d!r}")


def _device_table(devices: Mapping[str, DeviceProfile]) -> Table:
    table = Table(title="Devices", title_justify="left", show_lines=True, expand=True)
    table.add_column("name", no_wrap=True, style="bold")
    table.add_column("GFLOP/s", justify="right", no_wrap=True)
    table.add_column("RAM MB", justify="right", no_wrap=True)
    table.add_column("W idle/act", justify="right", no_wrap=True)
    table.add_column("battery Wh", justify="right", no_wrap=True)
    table.add_column("description", ratio=2, min_width=14)
    table.add_column("source", ratio=4, min_width=18, style="dim")
    for name, p in devices.items():
        table.add_row(
            name,
            _num(p.train_gflops),
            _num(p.ram_mb),
            f"{_num(p.power_idle_w)}/{_num(p.power_active_w)}",
            "–" if p.battery_wh is None else _num(p.battery_wh),
            p.description,
            p.source,
        )
    return table


def _network_table(networks: Mapping[str, NetworkProfile]) -> Table:
    table = Table(title="Networks", title_justify="left", show_lines=True, expand=True)
    table.add_column("name", no_wrap=True, style="bold")
    # Distribution texts wrap onto two lines ("lognormal / median 50 σ0.4").
    for label in ("down Mbit/s", "up Mbit/s", "latency ms"):
        table.add_column(label, ratio=1, min_width=11, max_width=16)
    table.add_column("radio W", justify="right", no_wrap=True)
    table.add_column("source", ratio=3, min_width=18, style="dim")
    for name, p in networks.items():
        table.add_row(
            name,
            describe_distribution(p.down_mbps),
            describe_distribution(p.up_mbps),
            describe_distribution(p.latency_ms),
            "–" if p.radio_w is None else _num(p.radio_w),
            f"{p.description}. {p.source}" if p.description else p.source,
        )
    return table


def render_profiles(
    devices: Mapping[str, DeviceProfile],
    networks: Mapping[str, NetworkProfile],
    console: Console,
) -> None:
    """Print a devices table and a networks table to ``console``."""
    console.print(_device_table(devices))
    console.print(_network_table(networks))
