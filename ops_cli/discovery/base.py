"""The discovery role: resolve a service name to its healthy instances."""

from __future__ import annotations

import abc
from dataclasses import dataclass

from ops_cli.errors import OpsError


class DiscoveryPermissionError(OpsError):
    """The discovery backend would not show every instance to our token: a
    permission problem, never to be read as "no instances"."""


@dataclass(frozen=True)
class ServiceInstance:
    """One reachable instance of a service."""

    service: str
    address: str
    port: int
    url: str
    tags: tuple[str, ...] = ()


class Discovery(abc.ABC):
    """Finds services by name."""

    @abc.abstractmethod
    def resolve(self, service: str) -> list[ServiceInstance]:
        """The healthy instances of ``service``; an empty list when there are none.

        Raises :class:`DiscoveryPermissionError` when the answer may be incomplete
        because the token may not see every instance."""
