"""Read models over the event log, and the ledger."""
