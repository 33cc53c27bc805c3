"""Coordinates: GTP vertices, flat indices and the neighbour table."""

import numpy as np
import pytest

from gopolicy.coords import (COLUMNS, format_vertex, neighbour_table, parse_vertex, to_index,
                             to_point)

VERTICES = [  # (point, size, vertex, index)
    ((0, 0), 19, "A1", 0),
    ((3, 3), 19, "D4", 60),
    ((0, 8), 19, "J1", 8),  # no I
    ((18, 18), 19, "T19", 360),
    ((15, 16), 19, "R16", 301),
    ((8, 8), 9, "J9", 80),
    ((4, 2), 9, "C5", 38),
]


@pytest.mark.parametrize("point, size, vertex, index", VERTICES)
def test_vertex_and_index_round_trip(point, size, vertex, index):
    assert format_vertex(point, size) == vertex
    assert parse_vertex(vertex, size) == point
    assert parse_vertex(vertex.lower(), size) == point
    assert to_index(point, size) == index
    assert to_point(index, size) == point


def test_pass():
    assert format_vertex(None) == "pass"
    assert parse_vertex("PASS") is None
    assert parse_vertex(" pass ") is None


@pytest.mark.parametrize("text, size", [
    ("I5", 19), ("A0", 19), ("A20", 19), ("U1", 19), ("K10", 9), ("", 19), ("D", 19), ("44", 19),
    ("D-4", 19), ("resign", 19),
])
def test_bad_vertices_raise(text, size):
    with pytest.raises(ValueError):
        parse_vertex(text, size)


def test_format_off_board_raises():
    with pytest.raises(ValueError):
        format_vertex((9, 0), 9)


def test_columns_skip_i():
    assert "I" not in COLUMNS and COLUMNS[8] == "J" and len(COLUMNS) == 25


@pytest.mark.parametrize("size", [1, 2, 5, 9, 13, 19])
def test_neighbour_table_matches_definition(size):
    table = neighbour_table(size)
    assert table.dtype == np.int16 and table.shape == (size * size, 4)
    assert not table.flags.writeable
    for index in range(size * size):
        row, col = to_point(index, size)
        expected = {to_index((r, c), size) for r, c in
                    ((row + 1, col), (row - 1, col), (row, col - 1), (row, col + 1))
                    if 0 <= r < size and 0 <= c < size}
        got = [int(q) for q in table[index]]
        assert set(q for q in got if q >= 0) == expected
        assert got.count(-1) == 4 - len(expected)
    assert neighbour_table(size) is table  # cached
