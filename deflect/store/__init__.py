"""The store: deflect's database (SQLite file or PostgreSQL server; core tables) and the per-feature
migration sets."""
from deflect.store.core import Store, open_store, store_exists

__all__ = ["Store", "open_store", "store_exists"]
