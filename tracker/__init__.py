"""Application service, settings, bootstrap and command line of the tracker."""
