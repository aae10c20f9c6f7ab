"""What the client's query mixins (metadata, privileges) need of ``DynamicsClient``.

Those read-only families of requests live in their own modules so ``client.py`` stays about
rows; each mixin inherits ``ClientReads`` to say which of the client's methods it calls.
"""

from __future__ import annotations

from .http import JsonObject


class ClientReads:
    """The two methods of ``DynamicsClient`` a query mixin builds on."""

    def _get_json(
        self,
        path: str,
        *,
        table: str | None = None,
        prefer: str | None = None,
        caller_object_id: str | None = None,
    ) -> JsonObject:
        raise NotImplementedError

    def _url(self, path: str) -> str:
        raise NotImplementedError
