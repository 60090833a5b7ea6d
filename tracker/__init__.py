"""Application service, settings, persistence wiring and command line of the tracker."""
