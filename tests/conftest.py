import pytest

from beamkit import lattices, madx


@pytest.fixture
def mad():
    """A fresh MAD-X session per test (its own process), closed afterwards."""
    with madx.session() as session:
        yield session


@pytest.fixture(scope="module")
def lhc_cell_bends_off():
    return lattices.lhc_fodo_cell(bends_on=False)


@pytest.fixture(scope="module")
def lhc_cell():
    return lattices.lhc_fodo_cell()
