"""FedScale's device traces (``client_device_capacity``, ``client_behave_trace``), read without running code.

The formats, as FedScale's documentation ("Device Trace File Formats") and its
client metadata code (``fedscale/cloud/internal/client_metadata.py``) describe
them, are pickled dicts keyed by client id:

- ``client_device_capacity``: ``{client: {"computation": c, "communication": b}}``; ``c`` is the
  client's *inference* latency of FedScale's reference model in ms per sample (FedScale takes training
  as 3 × that), ``b`` its bandwidth in kbit/s (FedScale divides payload kbit by it).
- ``client_behave_trace``: ``{client: {"duration", "active": [...], "inactive": [...], "finish_time",
  "model"}}``; the client is available from ``active[i]`` to ``inactive[i]`` (seconds), and the pattern
  repeats every ``finish_time`` seconds (FedScale takes the current time modulo ``finish_time``).

How they map onto edgesim:

- ``train_gflops`` = ``reference_gflop`` / (``c`` / 1000): a device that infers the reference model
  (``reference_gflop`` GFLOP per sample) in ``c`` ms sustains that rate; training counts 3 × the FLOPs
  and FedScale 3 × the time, so the factor cancels. FedScale does not name the reference model's size;
  ``reference_gflop`` defaults to 0.6 GFLOP (MobileNetV2 at 224 px, about 300 M multiply-adds), an
  assumption to replace when the trace's model is known.
- ``down_mbps`` = ``up_mbps`` = ``b`` / 1000 (FedScale has one bandwidth for both directions).
- availability: the ``[active[i], inactive[i])`` intervals, repeating every ``finish_time``.

Both files are read by an unpickler that refuses every class and function (``find_class``): only the
containers and numbers pickle builds without one (dicts, lists, tuples, strings, numbers) come through,
so a trace file cannot run code. With both files, device ``i`` of the capacity trace takes behaviour
``i`` modulo their number (FedScale assigns them by client id the same way). Client ids are integers or
text; a value nested too deeply for ``repr`` is shown a few levels deep in messages.
"""

from __future__ import annotations

import io
import math
import pickle
from pathlib import Path

import numpy as np

from edgesim.errors import InputError, brief
from edgesim.traces.model import FleetTrace, grouped

DEFAULT_REFERENCE_GFLOP = 0.6
"""GFLOP per inference of the model behind FedScale's ``computation`` figures (assumed: MobileNetV2, 224 px)."""


class _PlainUnpickler(pickle.Unpickler):
    """Builds plain containers and numbers; refuses anything that would name a class or function."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"it names {module}.{name}, and a trace may hold only dicts, lists, strings "
                                     "and numbers")


def load_plain_pickle(path: Path):
    """The object pickled in ``path``, if it is built of plain containers and numbers (``InputError`` otherwise)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"trace {path}: cannot be read ({exc.strerror or exc})") from None
    try:
        return _PlainUnpickler(io.BytesIO(data)).load()
    except RecursionError:  # e.g. comparing two keys nested thousands deep
        raise InputError(f"trace {path}: not a plain pickle (nested too deeply)") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, KeyError, AttributeError,
            MemoryError) as exc:
        raise InputError(f"trace {path}: not a plain pickle ({exc})") from None


def _mapping(path: Path, data) -> dict:
    """``data`` if it is a non-empty dict keyed by client ids, each an integer or text that prints (``InputError``
    otherwise)."""
    if not isinstance(data, dict):
        raise InputError(f"trace {path}: expected a non-empty dict keyed by client id, found {type(data).__name__}")
    if not data:
        raise InputError(f"trace {path}: expected a non-empty dict keyed by client id, found an empty dict")
    for client in data:
        if isinstance(client, bool) or not isinstance(client, (int, str)):
            raise InputError(f"trace {path}: client id {brief(client)} is not an integer or text")
        _device_id(path, client)
    return data


def _device_id(path: Path, client: int | str) -> str:
    """The client's id as text (``InputError`` for an integer too long to print)."""
    try:
        return str(client)
    except ValueError:  # more digits than Python prints
        raise InputError(f"trace {path}: a client id is an integer too long to print") from None


def _number(path: Path, client, key: str, value, positive: bool = True) -> float:
    """``value`` as a float (``InputError`` unless it is a finite number, and positive if ``positive``)."""
    try:
        number = math.nan if isinstance(value, bool) or not isinstance(value, (int, float)) else float(value)
    except OverflowError:  # an integer beyond a float's range (its repr may be too long to print)
        raise InputError(f"trace {path}: client {brief(client)}: {key} is an integer too large for a number") from None
    if not math.isfinite(number) or (positive and number <= 0):
        raise InputError(f"trace {path}: client {brief(client)}: {key} {brief(value)} is not a "
                         f"{'positive ' * positive}number")
    return number


def read_fedscale_trace(capacity_path: Path | None, behaviour_path: Path | None,
                        reference_gflop: float = DEFAULT_REFERENCE_GFLOP) -> FleetTrace:
    """A ``FleetTrace`` from FedScale's capacity trace, behaviour trace, or both (at least one)."""
    if capacity_path is None and behaviour_path is None:
        raise InputError("a FedScale trace needs device_capacity, behave_trace or both")
    capacity = _mapping(capacity_path, load_plain_pickle(capacity_path)) if capacity_path else None
    behaviour = _mapping(behaviour_path, load_plain_pickle(behaviour_path)) if behaviour_path else None
    clients = [str(client) for client in (capacity if capacity is not None else behaviour)]
    figures = {}
    if capacity is not None:
        gflops, mbps = np.empty(len(clients)), np.empty(len(clients))
        for i, (client, entry) in enumerate(capacity.items()):
            if not isinstance(entry, dict):
                raise InputError(f"trace {capacity_path}: client {brief(client)}: expected a dict with computation "
                                 "and communication")
            for key in ("computation", "communication"):
                if key not in entry:
                    raise InputError(f"trace {capacity_path}: client {brief(client)}: no {key}")
            seconds = _number(capacity_path, client, "computation", entry["computation"]) / 1000
            mbps[i] = _number(capacity_path, client, "communication", entry["communication"]) / 1000
            if seconds == 0 or mbps[i] == 0 or not math.isfinite(reference_gflop / seconds):
                raise InputError(f"trace {capacity_path}: client {brief(client)}: computation or communication too "
                                 "small to be a speed")
            gflops[i] = reference_gflop / seconds
        figures = {"train_gflops": gflops, "down_mbps": mbps, "up_mbps": mbps.copy()}
    availability, period = None, None
    if behaviour is not None:
        behaviours = list(behaviour.items())
        device_of_row, starts, ends, period = [], [], [], np.empty(len(clients))
        for i in range(len(clients)):
            client, entry = behaviours[i % len(behaviours)]
            active, inactive, finish = _behaviour(behaviour_path, client, entry)
            period[i] = finish
            for start, end in zip(active, inactive):
                if end > start:
                    device_of_row.append(i)
                    starts.append(start)
                    ends.append(end)
        availability = grouped(np.asarray(device_of_row, dtype=np.int64), len(clients),
                               {"start_s": np.asarray(starts, dtype=np.float64),
                                "end_s": np.asarray(ends, dtype=np.float64)}, "start_s")
    source = " and ".join(str(p) for p in (capacity_path, behaviour_path) if p)
    return FleetTrace(tuple(clients), figures, availability, period, None, source)


def _behaviour(path: Path, client, entry) -> tuple[list[float], list[float], float]:
    if not isinstance(entry, dict) or not {"active", "inactive", "finish_time"} <= set(entry):
        raise InputError(f"trace {path}: client {brief(client)}: expected a dict with active, inactive and finish_time")
    active, inactive = entry["active"], entry["inactive"]
    if not isinstance(active, (list, tuple)) or not isinstance(inactive, (list, tuple)) or len(active) != len(inactive):
        raise InputError(f"trace {path}: client {brief(client)}: active and inactive must be lists of equal length")
    finish = _number(path, client, "finish_time", entry["finish_time"])
    active = [_number(path, client, "active", a, positive=False) for a in active]
    inactive = [_number(path, client, "inactive", b, positive=False) for b in inactive]
    for k, (a, b) in enumerate(zip(active, inactive)):
        if a > b:
            raise InputError(f"trace {path}: client {brief(client)}: active[{k}] {a:g} is after inactive[{k}] {b:g}")
    if any(b > finish or a < 0 for a, b in zip(active, inactive)) or any(
            later < earlier for earlier, later in zip(inactive, active[1:])):
        raise InputError(f"trace {path}: client {brief(client)}: intervals must lie in order within [0, finish_time]")
    return active, inactive, finish
