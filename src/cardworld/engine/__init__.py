"""Running a world: the shard plan, a local process pool, atomic writes and the manifest."""
