"""Fuzz the reader with damaged files of real exports.

A damaged ``saved_model.pb`` / ``.pbtxt`` must give a result or the project's
own ``SavedModelError`` (naming the path), never another exception. A damaged
``variables/variables.index`` must never make reading fail: the damage shows
in ``variables_error``.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import savedmodel_widgets as smw
from savedmodel_widgets.errors import SavedModelError

FUZZ = settings(max_examples=200, deadline=None)

INDEX = os.path.join("variables", "variables.index")


def read_bytes(path):
    with open(path, "rb") as file:
        return file.read()


def read_damaged(model_dir, relative, damaged):
    """Copy the model into a fresh temp dir, replace one file, and read the copy.

    Returns the ``SavedModelInfo``, or the ``SavedModelError`` raised (whose
    message must name the copy); any other exception propagates.
    """
    with tempfile.TemporaryDirectory() as scratch:
        copy = os.path.join(scratch, "model")
        shutil.copytree(model_dir, copy)
        with open(os.path.join(copy, relative), "wb") as file:
            file.write(damaged)
        try:
            info = smw.read_saved_model(copy)
        except SavedModelError as error:
            assert copy in str(error), str(error)
            return error
        assert isinstance(info, smw.SavedModelInfo)
        assert info.path == copy
        return info


@st.composite
def truncations(draw, data):
    """``data`` cut short at any length, from empty to one byte less."""
    return data[: draw(st.integers(0, len(data) - 1))]


def edits(data, values):
    """1 to 16 distinct ``(position, value)`` edits of ``data``."""
    return st.lists(
        st.tuples(st.integers(0, len(data) - 1), values),
        min_size=1,
        max_size=16,
        unique_by=lambda edit: edit[0],
    )


@st.composite
def bit_flips(draw, data):
    """``data`` with one bit flipped at each of 1 to 16 random positions."""
    damaged = bytearray(data)
    for position, bit in draw(edits(data, st.integers(0, 7))):
        damaged[position] ^= 1 << bit
    return bytes(damaged)


@st.composite
def byte_replacements(draw, data):
    """``data`` with 1 to 16 bytes replaced by different values (a changed file)."""
    damaged = bytearray(data)
    for position, offset in draw(edits(data, st.integers(1, 255))):
        damaged[position] = (data[position] + offset) % 256
    return bytes(damaged)


DAMAGES = {
    "truncated": truncations,
    "bit_flipped": bit_flips,
    "bytes_replaced": byte_replacements,
}


@pytest.mark.parametrize("damage", ["truncated", "bit_flipped"])
@pytest.mark.parametrize("name", ["builder", "keras3"])
@FUZZ
@given(data=st.data())
def test_damaged_saved_model_pb(saved_models, name, damage, data):
    original = read_bytes(os.path.join(saved_models[name], "saved_model.pb"))
    damaged = data.draw(DAMAGES[damage](original), label="saved_model.pb")
    read_damaged(saved_models[name], "saved_model.pb", damaged)


@pytest.mark.parametrize("damage", ["truncated", "bytes_replaced"])
@FUZZ
@given(data=st.data())
def test_damaged_saved_model_pbtxt(saved_models, damage, data):
    original = read_bytes(os.path.join(saved_models["pbtxt"], "saved_model.pbtxt"))
    damaged = data.draw(DAMAGES[damage](original), label="saved_model.pbtxt")
    read_damaged(saved_models["pbtxt"], "saved_model.pbtxt", damaged)


@pytest.mark.parametrize("damage", ["truncated", "bit_flipped", "bytes_replaced"])
@pytest.mark.parametrize("name", ["builder", "keras3"])
@FUZZ
@given(data=st.data())
def test_damaged_variables_index_never_fails_reading(saved_models, name, damage, data):
    original = read_bytes(os.path.join(saved_models[name], INDEX))
    damaged = data.draw(DAMAGES[damage](original), label="variables.index")
    result = read_damaged(saved_models[name], INDEX, damaged)
    assert isinstance(result, smw.SavedModelInfo), f"reading raised: {result}"
    assert isinstance(result.variables_error, str)
    assert all(isinstance(v, smw.VariableInfo) for v in result.variables)


def test_an_empty_saved_model_pb_is_corrupt(saved_models):
    """The shortest truncation, always: zero bytes parse as an empty message."""
    result = read_damaged(saved_models["builder"], "saved_model.pb", b"")
    assert isinstance(result, smw.errors.CorruptSavedModelError)
