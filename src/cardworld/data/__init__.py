"""Knowledge shipped with cardworld (tables, examples), each with its source named beside it."""

from importlib.resources import files


def data_path(name: str) -> str:
    """Path of a file shipped in cardworld/data."""
    return str(files(__package__).joinpath(name))
