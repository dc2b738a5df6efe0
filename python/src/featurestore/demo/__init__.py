"""Demo data: the raw tables of a small news service, generated deterministically (data.py writes them;
schemas.py is their contract with the dbt sources; shape.py, entities.py and events.py model the traffic)."""

from featurestore.demo.data import generate_demo_data
from featurestore.demo.schemas import DemoDataConfig, DemoDataSummary

__all__ = ["DemoDataConfig", "DemoDataSummary", "generate_demo_data"]
