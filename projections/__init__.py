"""Read models over the event log, and the ledger (see projections/readmodels.py for the interface)."""

from projections.queries import PublicQueries
from projections.readmodels import ReadModels, ReadModelTimeout

__all__ = ["PublicQueries", "ReadModelTimeout", "ReadModels"]
