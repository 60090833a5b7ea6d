"""The web app: routes, templates and static files."""
