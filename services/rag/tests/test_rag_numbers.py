from __future__ import annotations

import pytest
from rag.domain.numbers import find_numbers, format_number, normalize_numbers


@pytest.mark.parametrize(
    ("spoken", "written"),
    [
        ("two hundred dollars", "200 dollars"),
        ("fifteen hundred a year", "1500 a year"),
        ("forty-two years old", "42 years old"),
        ("a hundred and fifty bucks", "150 bucks"),
        ("twenty five thousand", "25000"),
        ("one hundred twenty thousand", "120000"),
        ("two million five hundred thousand", "2500000"),
        ("about 1.5 lakh rupees", "about 150000 rupees"),
        ("3 crore", "30000000"),
        ("2k a year", "2000 a year"),
        ("$1.5m cover", "$1500000 cover"),
        ("$1,500,000", "$1500000"),
        ("15,00,000", "1500000"),
        ("15 hundred", "1500"),
        ("two fifty tops", "250 tops"),
        ("kids aged five and eight", "kids aged 5 and 8"),
        ("five six", "5 6"),
        ("a 24-month wait", "a 24-month wait"),
    ],
)
def test_spoken_and_written_numbers_become_plain_digits(spoken: str, written: str) -> None:
    assert normalize_numbers(spoken) == written


def test_text_without_numbers_is_unchanged() -> None:
    text = "A lovely day, isn't it? And a fine dog and a cat."
    assert normalize_numbers(text) == text


def test_spans_point_at_the_number_in_the_original_text() -> None:
    text = "I pay two hundred and fifty dollars, not 300."
    spans = find_numbers(text)
    assert [(text[s.start : s.end], s.value, s.spelled) for s in spans] == [
        ("two hundred and fifty", 250.0, True),
        ("300", 300.0, False),
    ]


def test_format_number_drops_trailing_zero_only_for_whole_numbers() -> None:
    assert format_number(1500.0) == "1500"
    assert format_number(1.5) == "1.5"
