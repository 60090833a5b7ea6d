"""Aggregates and their events: dialogues, cases, commitments and accounts."""
