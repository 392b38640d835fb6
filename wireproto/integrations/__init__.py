"""wireproto under the clients people already use (docker-py: :mod:`.docker_py`)."""
