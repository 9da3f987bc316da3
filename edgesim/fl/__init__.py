"""Federated-learning algorithms: pure torch, no clock. The simulation calls them."""
