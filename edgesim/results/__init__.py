"""The run directory: resolved scenario, event and metric tables, summary."""
