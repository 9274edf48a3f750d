"""cardworld: a virtual world that writes card transactions, and synthetic targets at training speed."""

from cardworld.errors import CardworldError, InputError, SpecError

__version__ = "0.1.0"


def __getattr__(name: str):
    """Lazy exports, so `import cardworld` stays light (no pyarrow until it is used)."""
    if name == "pd_samples":
        from cardworld.labels import pd_samples

        return pd_samples
    if name == "open":  # cardworld.open(DIR): a dataset directory, read lazily (cardworld.io.reader)
        from cardworld.io.reader import open as open_dataset

        return open_dataset
    raise AttributeError(f"module 'cardworld' has no attribute {name!r}")


# `open` is left out on purpose: `from cardworld import *` would shadow builtins.open.
__all__ = ["CardworldError", "InputError", "SpecError", "__version__", "pd_samples"]
