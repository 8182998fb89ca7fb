import numpy as np
import pytest

from hepgen.errors import SchemaError
from hepgen.io import Cut

DATA = {
    "pt": np.array([10.0, 30.0, 50.0, 26.0]),
    "eta": np.array([0.5, -3.0, 2.0, -2.4]),
    "pdgId": np.array([12, -14, 11, 16]),
}


def evaluate(expression: str) -> np.ndarray:
    return Cut(expression).evaluate(DATA.__getitem__)


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("pt > 25", DATA["pt"] > 25),
        ("pt > 25 and abs(eta) < 2.5", (DATA["pt"] > 25) & (np.abs(DATA["eta"]) < 2.5)),
        ("(pt > 25) & (abs(eta) < 2.5)", (DATA["pt"] > 25) & (np.abs(DATA["eta"]) < 2.5)),
        ("~(pt > 25) | isin(pdgId, (11,))", ~(DATA["pt"] > 25) | (DATA["pdgId"] == 11)),
        ("20 < pt <= 50", (DATA["pt"] > 20) & (DATA["pt"] <= 50)),
        ("not pt > 25 or eta > 1", ~(DATA["pt"] > 25) | (DATA["eta"] > 1)),
        ("isin(abs(pdgId), (12, 14, 16))", np.array([True, True, False, True])),
        ("pt * 2 - 10 > 50", DATA["pt"] * 2 - 10 > 50),
        ("-eta > 2", -DATA["eta"] > 2),
    ],
)
def test_cut_matches_numpy(expression, expected):
    np.testing.assert_array_equal(evaluate(expression), expected)


def test_names():
    assert Cut("pt > 25 and abs(eta) < 2.5").names == {"pt", "eta"}


@pytest.mark.parametrize(
    "expression",
    [
        "__import__('os').system('true')",
        "pt.__class__",
        "[pt]",
        "pt if eta else 0",
        "pt > 'a'",
        "exp(pt) > 1",
        "lambda: 1",
        "pt[0] > 1",
        "abs(x=pt) > 1",
    ],
)
def test_unsafe_or_unknown_constructs_are_refused(expression):
    with pytest.raises(SchemaError, match="cut"):
        Cut(expression)


def test_bitwise_precedence_trap_is_refused():
    # Python parses this as pt > (25 & (abs(eta) < 2.5)): refuse rather than select the wrong objects.
    with pytest.raises(SchemaError, match="bind tighter"):
        Cut("pt > 25 & (abs(eta) < 2.5)")


def test_syntax_error_names_the_cut():
    with pytest.raises(SchemaError, match="not a valid expression"):
        Cut("pt >")
