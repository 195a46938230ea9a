"""The output-handler registry: register by name or as an OutputType's default, build by name."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any, TypeVar

from paperpred.errors import RegistryError
from paperpred.outputs.base import OutputHandler
from paperpred.registry import Registry

H = TypeVar("H", bound=type)

OUTPUT_HANDLERS: Registry[type] = Registry("output handler")


def register_output_handler(name_or_enum: str | Enum, *, default_for: Enum | None = None
                            ) -> Callable[[H], H]:
    """Class decorator that registers an :class:`~paperpred.outputs.OutputHandler`.

    Args:
        name_or_enum: a lowercase registry name (``"binary"``), or an
            :class:`~paperpred.config.OutputType` member: then the class is registered under
            its class name (lower-cased) and becomes that type's default, replacing the
            previous default until it is unregistered (the spec's extension example).
        default_for: with a name, also make the class this member's default.

    Returns:
        The decorator; it returns the class unchanged except for ``registry_name``.

    Raises:
        RegistryError: the name is taken by another class.
        TypeError: the decorated object is not an OutputHandler subclass.
    """

    def wrap(cls: H) -> H:
        if not (isinstance(cls, type) and issubclass(cls, OutputHandler)):
            raise TypeError(f"register_output_handler expects an OutputHandler subclass, "
                            f"got {cls!r}")
        enum: Enum | None
        if isinstance(name_or_enum, Enum):
            # Only the class's *own* name: a subclass of a built-in must not inherit "binary".
            name = cls.__dict__.get("registry_name") or cls.__name__.lower()
            enum = name_or_enum
        else:
            name, enum = str(name_or_enum).strip().lower(), default_for
        OUTPUT_HANDLERS.register(name, cls, default_for=enum)
        cls.registry_name = name
        return cls

    return wrap


def get_output_handler(name_or_enum: str | Enum | Mapping[str, Any], **kwargs: Any) -> Any:
    """Build a registered output handler.

    Args:
        name_or_enum: a registry name (``"citation_percentile"``), an OutputType member (its
            current default), or a :meth:`~paperpred.outputs.OutputHandler.to_config` dict
            ``{"name": ..., "kwargs": {...}}``.
        **kwargs: constructor arguments (override those of a config dict).

    Returns:
        A new handler instance.

    Raises:
        RegistryError: unknown name; the message lists the registered names.
    """
    name: str | Enum
    if isinstance(name_or_enum, Mapping):
        if "name" not in name_or_enum:
            raise RegistryError(f"output handler config needs a 'name': {dict(name_or_enum)}")
        kwargs = {**dict(name_or_enum.get("kwargs") or {}), **kwargs}
        name = name_or_enum["name"]
    else:
        name = name_or_enum
    cls = OUTPUT_HANDLERS.get(name)
    return cls(**kwargs)
