import pytest

from paperpred.data import ICLRDataLoader, sample_path


@pytest.fixture(scope="session")
def sample():
    """The bundled ICLR 2017 sample, loaded leniently (one row has an empty title)."""
    return list(ICLRDataLoader(strict=False).load_from_jsonl(sample_path()))
