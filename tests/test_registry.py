"""The generic registry behind the formatter and handler registries."""

from enum import Enum

import pytest

from paperpred.errors import RegistryError
from paperpred.registry import Registry


class Kind(str, Enum):
    A = "a_kind"
    B = "b_kind"


def test_register_and_get_by_name_case_insensitive():
    registry = Registry("thing")
    registry.register("Alpha", 1)
    assert registry.get("alpha") == 1 and registry.get(" ALPHA ") == 1
    assert "alpha" in registry and len(registry) == 1 and list(registry) == ["alpha"]


def test_duplicate_name_is_an_error():
    registry = Registry("thing")
    registry.register("alpha", 1)
    with pytest.raises(RegistryError, match="already registered"):
        registry.register("alpha", 2)
    registry.register("alpha", 1)  # the same object again is harmless


def test_unknown_name_lists_what_exists_and_suggests():
    registry = Registry("output handler")
    registry.register("binary", 1)
    registry.register("multiclass", 2)
    with pytest.raises(RegistryError) as info:
        registry.get("binery")
    message = str(info.value)
    assert "unknown output handler 'binery'" in message
    assert "Did you mean 'binary'?" in message and "binary, multiclass" in message


def test_enum_default_last_registration_wins_and_unregister_restores():
    registry = Registry("thing")

    class First:
        pass

    registry.register("first", First, default_for=Kind.A)

    assert registry.get(Kind.A) is First and registry.get("first") is First

    class Custom:
        pass

    registry.register("custom", Custom, default_for=Kind.A)

    assert registry.get(Kind.A) is Custom and registry.get("custom") is Custom
    assert registry.defaults() == {"a_kind": "custom"}
    registry.unregister("custom")
    assert registry.get(Kind.A) is First and "custom" not in registry
    with pytest.raises(RegistryError):
        registry.get(Kind.B)


def test_name_with_default_for():
    registry = Registry("thing")

    class Plain:
        pass

    registry.register("plain", Plain, default_for=Kind.B)

    assert registry.get("plain") is Plain and registry.get(Kind.B) is Plain
    assert registry.get("b_kind") is Plain  # the enum's value works as a name too
