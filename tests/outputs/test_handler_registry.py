"""The output-handler registry: built-ins, lookup by name and enum, the spec's extension example."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from paperpred.config import OutputType
from paperpred.errors import RegistryError
from paperpred.outputs import (
    OUTPUT_HANDLERS,
    BinaryAcceptRejectHandler,
    CitationPercentileHandler,
    MeanRatingHandler,
    MultiClassDecisionHandler,
    get_output_handler,
)

BUILT_INS = {
    "binary": (BinaryAcceptRejectHandler, OutputType.BINARY),
    "multiclass": (MultiClassDecisionHandler, OutputType.MULTICLASS),
    "citation_percentile": (CitationPercentileHandler, OutputType.CITATION_PERCENTILE),
    "mean_rating": (MeanRatingHandler, OutputType.MEAN_RATING),
}


@pytest.fixture
def custom_handler_cleanup() -> Iterator[list[str]]:
    """Names registered by a test; unregistered afterwards so other tests see the built-ins."""
    names: list[str] = []
    yield names
    for name in names:
        OUTPUT_HANDLERS.unregister(name)


@pytest.mark.parametrize("name", sorted(BUILT_INS))
def test_built_ins_by_name_and_enum(name: str) -> None:
    cls, enum = BUILT_INS[name]
    assert isinstance(get_output_handler(name), cls)
    assert isinstance(get_output_handler(enum), cls)
    assert isinstance(get_output_handler(name.upper()), cls)  # names are case-insensitive
    assert cls.output_type is enum
    assert get_output_handler(name).to_config()["name"] == name


def test_kwargs_are_passed_and_recorded() -> None:
    handler = get_output_handler("mean_rating", as_percentile=True)
    assert handler.as_percentile is True
    assert handler.init_kwargs == {"as_percentile": True, "include_reasoning": False}
    positional = CitationPercentileHandler(True, True)
    assert positional.to_config() == {"name": "citation_percentile",
                                      "kwargs": {"include_reasoning": True, "discretize": True}}


def test_config_kwargs_can_be_overridden() -> None:
    config = CitationPercentileHandler(discretize=True).to_config()
    assert get_output_handler(config, discretize=False).discretize is False


def test_unknown_name_lists_what_exists() -> None:
    with pytest.raises(RegistryError) as err:
        get_output_handler("binay")
    message = str(err.value)
    assert "Did you mean 'binary'" in message
    for name in BUILT_INS:
        assert name in message


def test_unknown_keyword_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        get_output_handler("binary", discretize=True)


def test_spec_extension_example_runs(custom_handler_cleanup: list[str],
                                     sample: list) -> None:
    # The spec's "Adding a New Output Handler" example, verbatim but for the import line.
    from paperpred.config import OutputType
    from paperpred.outputs import OutputHandler, register_output_handler

    @register_output_handler(OutputType.BINARY)  # or create new enum
    class MyCustomHandler(OutputHandler):
        output_type = OutputType.BINARY

        def get_instruction(self):
            return "Predict accept or reject."

        def format_label(self, submission):
            return submission.get_binary_label()

        def parse_prediction(self, text):
            # Parse model output
            return {"prediction": "Accept", "raw": text, "parse_success": True}

        def compute_metrics(self, predictions, ground_truths):
            # Compute evaluation metrics
            return {"accuracy": 0.85}

    custom_handler_cleanup.append("mycustomhandler")
    # The enum now resolves to the custom class; the name "binary" still gives the built-in.
    handler = get_output_handler(OutputType.BINARY)
    assert type(handler) is MyCustomHandler
    assert type(get_output_handler("binary")) is BinaryAcceptRejectHandler
    assert handler.to_config() == {"name": "mycustomhandler", "kwargs": {}}
    assert type(get_output_handler(handler.to_config())) is MyCustomHandler
    assert handler.format_label(sample[0]) in ("Accept", "Reject")
    assert handler.compute_metrics([], []) == {"accuracy": 0.85}
    # defaults built on the four methods
    assert handler.label_value(sample[0]) == sample[0].get_binary_label()
    assert handler.reward("anything", "Answer: Accept") == 1.0
    assert handler.reward("anything", "Answer: Reject") == 0.0


def test_unregistering_restores_the_default(custom_handler_cleanup: list[str]) -> None:
    from paperpred.outputs import OutputHandler, register_output_handler

    @register_output_handler(OutputType.MULTICLASS)
    class TemporaryHandler(MultiClassDecisionHandler):
        pass

    custom_handler_cleanup.append("temporaryhandler")

    # a subclass of a built-in gets its own name, not the inherited "multiclass"
    assert TemporaryHandler.registry_name == "temporaryhandler"
    assert type(get_output_handler(OutputType.MULTICLASS)) is TemporaryHandler
    OUTPUT_HANDLERS.unregister("temporaryhandler")
    assert type(get_output_handler(OutputType.MULTICLASS)) is MultiClassDecisionHandler
    assert issubclass(TemporaryHandler, OutputHandler)


def test_registering_by_name(custom_handler_cleanup: list[str]) -> None:
    from paperpred.outputs import register_output_handler

    @register_output_handler("accept_only", default_for=OutputType.BINARY)
    class AcceptOnly(BinaryAcceptRejectHandler):
        pass

    custom_handler_cleanup.append("accept_only")
    assert AcceptOnly(include_reasoning=True).to_config() == {
        "name": "accept_only", "kwargs": {"include_reasoning": True}}
    assert type(get_output_handler(OutputType.BINARY)) is AcceptOnly


def test_duplicate_name_is_an_error(custom_handler_cleanup: list[str]) -> None:
    from paperpred.outputs import register_output_handler

    with pytest.raises(RegistryError, match="already registered"):
        @register_output_handler("binary")
        class Another(BinaryAcceptRejectHandler):
            pass


def test_only_handlers_can_be_registered() -> None:
    from paperpred.outputs import register_output_handler

    with pytest.raises(TypeError, match="OutputHandler subclass"):
        register_output_handler("not_a_handler")(object)
    assert "not_a_handler" not in OUTPUT_HANDLERS


def test_abstract_methods_are_required() -> None:
    from paperpred.outputs import OutputHandler

    class Incomplete(OutputHandler):
        def get_instruction(self):
            return ""

    with pytest.raises(TypeError):
        Incomplete()
