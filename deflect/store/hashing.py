"""Customer ids and client addresses as deflect keeps them: hashed with the store's own key, so that the
same customer is recognised and an erasure finds their rows, while the id itself is never stored."""
from __future__ import annotations

import hashlib
import hmac
from typing import Any

HASH_KEY = "hash_key"   # setting: the store's own key for one_way_hash (feedback_schema makes it)


def one_way_hash(value: str, key: str = "") -> str:
    """A stable hash of a customer id or a client address: the same customer is recognised, the id itself
    is never stored. Keyed with the store's own ``key``, it cannot be turned back by hashing every
    customer number or address in turn; ``""``: the shared prefix of stores made before keys."""
    if not key:
        return hashlib.sha256(("deflect\0" + value).encode("utf-8")).hexdigest()[:24]
    return hmac.new(key.encode("utf-8"), value.encode("utf-8"), hashlib.sha256).hexdigest()[:24]


def customer_key(customer: str) -> str:
    """A customer id as it is hashed: trimmed, and an e-mail address in lower case (mail systems do not
    tell "Anna.Berg@Example.de" from "anna.berg@example.de", and neither should an erasure)."""
    customer = customer.strip()
    return customer.casefold() if "@" in customer else customer


def hash_key(store: Any) -> str:
    """The store's key for ``one_way_hash``."""
    return store.get_setting(HASH_KEY, "") or ""
