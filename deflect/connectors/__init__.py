"""Help-desk connectors: deflect beside Zammad or Chatwoot, reading their knowledge base and resolved
tickets (``sync``), taking their webhooks (``inbox``) and posting suggestions as internal notes (``note``).

``connector_for(connection)`` is the connector of a stored connection (``records``)."""
from __future__ import annotations

from deflect.connectors.base import Connector
from deflect.connectors.chatwoot import ChatwootConnector
from deflect.connectors.http import HelpdeskClient
from deflect.connectors.records import Connection
from deflect.connectors.zammad import ZammadConnector

CONNECTORS: dict[str, type[Connector]] = {"zammad": ZammadConnector, "chatwoot": ChatwootConnector}


def connector_for(connection: Connection, client: HelpdeskClient | None = None) -> Connector:
    """The connector for ``connection``'s kind of help desk (its API token is read now)."""
    return CONNECTORS[connection.kind](connection, client)


__all__ = ["CONNECTORS", "Connection", "Connector", "connector_for"]
