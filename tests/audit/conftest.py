from tests.webclient import client, tracker_of, world_people  # noqa: F401
