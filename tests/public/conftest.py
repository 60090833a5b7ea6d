from tests.webclient import as_, client, tracker_of, world, world_people  # noqa: F401
