"""The discovery role: resolve a service name to its healthy instances."""

from __future__ import annotations

import abc
from dataclasses import dataclass


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
        """The healthy instances of ``service``; an empty list when there are none."""
