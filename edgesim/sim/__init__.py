"""The simulation layer: the only code that touches the SimPy clock."""
