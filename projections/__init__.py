"""Read models over the event log, and the ledger (see projections/readmodels.py for the interface)."""

from projections.readmodels import PublicReadModel, ReadModels, ReadModelTimeout

__all__ = ["PublicReadModel", "ReadModelTimeout", "ReadModels"]
