"""The store: deflect's SQLite database (core tables) and the per-feature migration sets."""
from deflect.store.core import Store, open_store

__all__ = ["Store", "open_store"]
