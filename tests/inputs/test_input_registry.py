"""The input-formatter registry: names, modality defaults, the spec's extension example."""

from __future__ import annotations

import json

import pytest

from paperpred.config import InputModality
from paperpred.errors import RegistryError
from paperpred.inputs import (
    INPUT_FORMATTERS,
    AbstractOnlyFormatter,
    FullContextFormatter,
    ImagesOnlyFormatter,
    InputFormatter,
    TextOnlyFormatter,
    TextWithImagesFormatter,
    get_input_formatter,
    register_input_formatter,
)

SPEC_NAMES = {
    "text_only": "TextOnlyFormatter",
    "abstract_only": "AbstractOnlyFormatter",
    "abstract_with_reviews": "AbstractWithReviewsFormatter",
    "full_text": "FullTextFormatter",
    "full_context": "FullContextFormatter",
    "text_with_images": "TextWithImagesFormatter",
    "abstract_with_page_images": "AbstractWithPageImagesFormatter",
    "reviews_with_page_images": "ReviewsWithPageImagesFormatter",
    "key_pages": "KeyPagesFormatter",
    "images_only": "ImagesOnlyFormatter",
    "images_with_title": "ImagesWithTitleFormatter",
}


def test_the_eleven_spec_formatters_are_registered_by_lowercase_name():
    for name, cls_name in SPEC_NAMES.items():
        assert INPUT_FORMATTERS.get(name).__name__ == cls_name
        assert get_input_formatter(name).name == name


@pytest.mark.parametrize("modality, cls", [
    (InputModality.TEXT_ONLY, TextOnlyFormatter),
    (InputModality.TEXT_WITH_IMAGES, TextWithImagesFormatter),
    (InputModality.IMAGES_ONLY, ImagesOnlyFormatter),
])
def test_each_modality_has_its_default(modality, cls):
    formatter = get_input_formatter(modality)
    assert type(formatter) is cls and formatter.modality is modality
    assert formatter.requires_vl_model is (modality is not InputModality.TEXT_ONLY)


def test_unknown_name_lists_what_exists_and_suggests():
    with pytest.raises(RegistryError) as err:
        get_input_formatter("abstract_onyl")
    assert "Did you mean 'abstract_only'" in str(err.value)
    assert "images_with_title" in str(err.value)


def test_a_duplicate_name_is_an_error():
    with pytest.raises(RegistryError, match="already registered"):
        register_input_formatter("abstract_only")(type("Other", (AbstractOnlyFormatter,), {}))


def test_components_record_their_kwargs_and_rebuild_from_describe():
    formatter = get_input_formatter("full_context", max_tokens=1234, include_keywords=False)
    described = formatter.describe()
    assert described == {"name": "full_context",
                         "kwargs": {"max_tokens": 1234, "include_keywords": False}}
    json.dumps(described)
    rebuilt = get_input_formatter(described["name"], **described["kwargs"])
    assert isinstance(rebuilt, FullContextFormatter) and rebuilt.max_tokens == 1234
    assert FullContextFormatter().describe()["kwargs"] == {}


def test_describe_records_a_tokenizer_by_name():
    class Tok:
        name_or_path = "HuggingFaceTB/SmolLM2-135M-Instruct"

        def encode(self, text, add_special_tokens=False):
            return text.split()

    described = get_input_formatter("full_text", tokenizer=Tok()).describe()
    assert described["kwargs"]["tokenizer"] == "HuggingFaceTB/SmolLM2-135M-Instruct"


@pytest.fixture
def spec_custom_formatter():
    """The spec's MyCustomFormatter, registered as written; unregistered afterwards."""
    @register_input_formatter(InputModality.TEXT_ONLY)  # or create new enum
    class MyCustomFormatter(InputFormatter):
        modality = InputModality.TEXT_ONLY
        requires_vl_model = False

        def format_content(self, submission):
            # Custom formatting logic
            return f"Title: {submission.title}\nAbstract: {submission.abstract}"

        def get_images(self, submission):
            return None

    yield MyCustomFormatter
    INPUT_FORMATTERS.unregister("mycustomformatter")


def test_the_spec_extension_example_runs(spec_custom_formatter, iclr2017):
    sub = iclr2017[0]
    formatter = get_input_formatter(InputModality.TEXT_ONLY)
    assert type(formatter) is spec_custom_formatter
    assert get_input_formatter("mycustomformatter").describe() == {
        "name": "mycustomformatter", "kwargs": {}}
    prompt = formatter.build(sub, "Predict accept or reject.", "Answer: Accept")
    assert [m["role"] for m in prompt.messages] == ["system", "user", "assistant"]
    expected = f"Title: {sub.title}\nAbstract: {sub.abstract}\n\nPredict accept or reject."
    assert prompt.user == expected
    assert prompt.images == [] and prompt.messages[-1]["content"] == "Answer: Accept"
    assert get_input_formatter("text_only").name == "text_only"  # the name still works


def test_unregistering_restores_the_default():
    assert type(get_input_formatter(InputModality.TEXT_ONLY)) is TextOnlyFormatter
    assert "mycustomformatter" not in INPUT_FORMATTERS
