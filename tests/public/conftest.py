from tests.webclient import client, tracker_of, world, world_people  # noqa: F401
