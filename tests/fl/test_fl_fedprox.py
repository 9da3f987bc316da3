"""FedProx: FedAvg's rounds with the trainer's proximal term; at mu 0 it is FedAvg bit for bit."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import edgesim
from edgesim.fl.fedprox import FedProxConfig

SMOKE = Path(__file__).resolve().parents[2] / "scenarios" / "smoke.yaml"
SYNTHETIC = {"dataset.name": "synthetic", "dataset.download": False, "dataset.test_subset": None,
             "stop.max_rounds": 3, "algorithm.local_epochs": 2}


def test_the_config_hands_mu_to_the_trainer():
    settings = FedProxConfig(mu=0.1, lr=0.02, momentum=0.5).optimizer_settings()
    assert (settings.proximal_mu, settings.lr, settings.momentum, settings.state_slots) == (0.1, 0.02, 0.5, 2)


def test_fedprox_at_mu_zero_is_fedavg_and_pulls_otherwise():
    def run(algorithm: dict):
        return edgesim.simulate(SMOKE, overrides={"algorithm": algorithm, **SYNTHETIC})

    fedavg = run({"name": "fedavg"})
    zero = run({"name": "fedprox", "mu": 0.0})
    pulled = run({"name": "fedprox", "mu": 1.0})
    assert zero.summary["algorithm"] == "fedprox" and pulled.status == "completed"
    pd.testing.assert_frame_equal(zero.metrics, fedavg.metrics)
    assert not pulled.metrics["train_loss"].equals(fedavg.metrics["train_loss"])
