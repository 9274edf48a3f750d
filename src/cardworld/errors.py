"""One exception family. Messages say what was wrong, where (field, file, row), and how to fix it."""


class CardworldError(Exception):
    """Base of every error cardworld raises on purpose. The CLI prints it as one line and exits 2."""


class SpecError(CardworldError, ValueError):
    """A target spec (or a set of them) is invalid: names the spec and field."""


class InputError(CardworldError, ValueError):
    """Input data is unusable: names the array, file, row or index, and says how to fix it."""


class ConfigError(CardworldError, ValueError):
    """A configuration value is invalid: names the field path."""
