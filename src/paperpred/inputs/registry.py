"""The registry of input formatters: register by name or as a modality's default, look up by
name or by :class:`~paperpred.config.InputModality`."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

from paperpred.registry import Registry

if TYPE_CHECKING:
    from paperpred.inputs.base import InputFormatter

F = TypeVar("F", bound=type)

#: Every input formatter, by lowercase name; each modality maps to its default formatter.
INPUT_FORMATTERS: Registry[type[InputFormatter]] = Registry("input formatter")


def register_input_formatter(
    name_or_enum: str | Enum, *, default_for: Enum | None = None
) -> Callable[[F], F]:
    """Class decorator that registers an :class:`InputFormatter`.

    Args:
        name_or_enum: a registry name (``"abstract_only"``), or an enum member such as
            ``InputModality.TEXT_ONLY``: then the class is registered under its own lower-cased
            class name (or its ``registry_name``) and becomes that modality's default, replacing
            the previous default until it is unregistered.
        default_for: with a name, also make the class the default of this enum member.

    Raises:
        RegistryError: the name is already taken by another class.

    Example:
        >>> @register_input_formatter(InputModality.TEXT_ONLY)  # doctest: +SKIP
        ... class MyCustomFormatter(InputFormatter): ...
    """

    def wrap(cls: F) -> F:
        if isinstance(name_or_enum, Enum):
            name: str = cls.__dict__.get("registry_name") or cls.__name__.lower()
            enum: Enum | None = name_or_enum
        else:
            name, enum = name_or_enum, default_for
        name = name.strip().lower()
        INPUT_FORMATTERS.register(name, cls, default_for=enum)
        cls.registry_name = name  # type: ignore[attr-defined]
        return cls

    return wrap


def get_input_formatter(name_or_enum: str | Enum | type, **kwargs: Any) -> InputFormatter:
    """Build a formatter by registry name, by modality (its default) or from a class.

    >>> get_input_formatter("abstract_only").describe()
    {'name': 'abstract_only', 'kwargs': {}}
    """
    cls = name_or_enum if isinstance(name_or_enum, type) else INPUT_FORMATTERS.get(name_or_enum)
    return cls(**kwargs)
