"""Text columns factorized by object first: equal objects are found by their addresses, not their text.

A built dataset's text columns hold few distinct Python objects: the mapping computes each distinct
value once and spreads the result back by position, so every "mg/dL" of a 4-million-record lab column is
the same ``str`` object (a 1,000-subject build's 19 million text values are 265,000 objects). Hashing the
objects' addresses (integers, at C speed) and then the text of the distinct objects only costs a tenth
of hashing the text of every record; equal text held by different objects is merged by the second hash.
A column read from a file holds one object per record: there the first pass would be wasted, and
:func:`factorize_objects` says so (None) after looking at the first few thousand records."""

from __future__ import annotations

import ctypes

import numpy as np
import pandas as pd

_SAMPLE = 4096  # records looked at to tell whether a column shares its objects


def addresses(values: np.ndarray) -> np.ndarray:
    """The address of each object of an object array (equal addresses: the same object), as intp.

    numpy offers no view of an object array as its pointers, so they are copied out of the array's
    memory while it is alive (the copy holds no references: use it only as long as ``values`` is held)."""
    values = np.ascontiguousarray(values, dtype=object)
    if not len(values):
        return np.zeros(0, dtype=np.intp)
    pointers = (ctypes.c_void_p * len(values)).from_address(values.ctypes.data)
    return np.frombuffer(memoryview(pointers), dtype=np.intp).copy()


def first_appearances(codes: np.ndarray) -> np.ndarray:
    """Positions where each code first appears, in code order, for codes numbered in order of first
    appearance (as ``pd.factorize`` numbers them): there a code exceeds every code before it."""
    if not len(codes):
        return np.zeros(0, dtype=np.intp)
    new = np.empty(len(codes), dtype=bool)
    new[0] = True
    np.greater(codes[1:], np.maximum.accumulate(codes)[:-1], out=new[1:])
    return np.flatnonzero(new)


def distinct_objects(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``(codes, objects)``: the distinct objects of an object array in order of first appearance, and
    for each record the code of its object (``objects[codes]`` is ``values``, object for object). None
    when the first records are mostly distinct objects (a column read from a file): work on the values."""
    held = np.ascontiguousarray(values, dtype=object)  # kept alive while its addresses are used
    pointers = addresses(held)
    if not len(pointers):
        return np.zeros(0, dtype=np.intp), held
    sample = pointers[:_SAMPLE]
    if len(pd.unique(sample)) > len(sample) // 2:
        return None
    # a sorted column repeats each object record after record: only the first of each run is hashed
    starts = np.empty(len(pointers), dtype=bool)
    starts[0] = True
    np.not_equal(pointers[1:], pointers[:-1], out=starts[1:])
    heads = np.flatnonzero(starts)
    head_codes, _ = pd.factorize(pointers[heads])
    codes = head_codes[np.cumsum(starts) - 1]
    return codes, held[heads[first_appearances(head_codes)]]


def factorize_objects(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``pd.factorize(values, use_na_sentinel=False)`` of an object array, its distinct objects hashed
    once each: the same codes and distinct values in the same order (a value's first record is the first
    record of one of its objects, and the objects are taken in order of first appearance). None when the
    first records are mostly distinct objects (:func:`distinct_objects`): factorize the values instead."""
    found = distinct_objects(values)
    if found is None:
        return None
    object_codes, objects = found
    codes, uniques = pd.factorize(objects, use_na_sentinel=False)
    return codes[object_codes], uniques
