"""One small generic registry (lm-eval style): register by name, look up by name or enum."""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterator
from enum import Enum
from typing import Any, Generic, TypeVar

from paperpred.errors import RegistryError

T = TypeVar("T")


def _key(name: str | Enum) -> str:
    return (name.value if isinstance(name, Enum) else str(name)).strip().lower()


class Registry(Generic[T]):
    """Maps lowercase names to components.

    A component may also be registered as the default for an enum member (for example the
    default formatter of ``InputModality.TEXT_ONLY``); a later registration for the same enum
    member replaces the default, as the spec's extension examples expect.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        self._defaults: dict[str, list[str]] = {}  # enum value -> names, last wins

    def register(self, name: str | Enum, item: T, *, default_for: Enum | None = None) -> T:
        key = _key(name)
        if key in self._items and self._items[key] is not item:
            raise RegistryError(f"{self.kind} '{key}' is already registered")
        self._items[key] = item
        if default_for is not None:
            self._defaults.setdefault(_key(default_for), []).append(key)
        return item

    def get(self, name: str | Enum) -> T:
        key = _key(name)
        if self._defaults.get(key) and (isinstance(name, Enum) or key not in self._items):
            return self._items[self._defaults[key][-1]]
        if key in self._items:
            return self._items[key]
        known = sorted(set(self._items) | set(self._defaults))
        close = difflib.get_close_matches(key, known, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise RegistryError(
            f"unknown {self.kind} '{key}'.{hint} Known: {', '.join(known) or '(none)'}"
        )

    def names(self) -> list[str]:
        return sorted(self._items)

    def defaults(self) -> dict[str, str]:
        """Enum value -> name of its current default."""
        return {k: v[-1] for k, v in self._defaults.items() if v}

    def __contains__(self, name: object) -> bool:
        return isinstance(name, (str, Enum)) and (
            _key(name) in self._items or _key(name) in self._defaults
        )

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)

    def unregister(self, name: str | Enum) -> None:
        """Remove a name (and any enum default pointing at it)."""
        key = _key(name)
        self._items.pop(key, None)
        for names in self._defaults.values():
            while key in names:
                names.remove(key)


def load_ref(ref: str) -> Any:
    """The object a ``"module:attribute"`` reference names (imported on first use): how modes
    and backends are registered without importing their engines."""
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)
