"""cardworld: a virtual world that writes card transactions, and synthetic targets at training speed."""

from cardworld.errors import CardworldError, InputError, SpecError

__version__ = "0.1.0"

__all__ = ["CardworldError", "InputError", "SpecError", "__version__"]
