"""Dates of the series: the store's ``yyyymmdd`` integers as days since a reference date.

The reference loader (``PASTIS_Dataset`` of github.com/VSainteuf/pastis-benchmark,
code/dataloader.py) gives each series' dates as the **sorted, de-duplicated** day offsets from
``reference_date`` (int64), whatever the order of the frames; dates and frames are therefore
aligned only where the metadata dates are chronological and unique, as in the official release.
"""

from __future__ import annotations

import datetime as _dt

import numpy as np


def parse_date(value, what: str) -> np.datetime64:
    """A calendar day from ``"YYYY-MM-DD"`` (the reference's format: ``"-"``-separated integers,
    so ``"2018-9-1"`` is accepted too) or a ``datetime.date``/``datetime.datetime`` (its day).

    Raises ``ValueError`` naming ``what`` when the value is not a valid date.
    """
    if isinstance(value, _dt.datetime):
        value = value.date()
    if isinstance(value, _dt.date):
        return np.datetime64(value, "D")
    try:
        year, month, day = (int(part) for part in str(value).split("-"))
        return np.datetime64(_dt.date(year, month, day), "D")
    except (ValueError, TypeError) as err:
        raise ValueError(f"{what}: {value!r} is not a date 'YYYY-MM-DD' ({err})") from None


def yyyymmdd_to_day(values: np.ndarray) -> np.ndarray:
    """``datetime64[D]`` days of ``yyyymmdd`` integers (any shape).

    Raises ``ValueError`` listing the first values that are not calendar dates (20190230, 0...).
    """
    values = np.asarray(values, dtype=np.int64)
    year, month, day = values // 10000, values // 100 % 100, values % 100
    months = (year - 1970).astype("datetime64[Y]").astype("datetime64[M]") + (month - 1)
    days = months.astype("datetime64[D]") + (day - 1)
    back = _day_to_yyyymmdd(days)
    bad = (back != values) | (month < 1) | (month > 12) | (day < 1) | (day > 31)
    if bad.any():
        raise ValueError(f"not calendar dates yyyymmdd: {values[bad][:5].tolist()}")
    return days


def _day_to_yyyymmdd(days: np.ndarray) -> np.ndarray:
    years = days.astype("datetime64[Y]")
    months = days.astype("datetime64[M]")
    year = years.astype(np.int64) + 1970
    month = (months - years.astype("datetime64[M]")).astype(np.int64) + 1
    day = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year * 10000 + month * 100 + day


def days_since(yyyymmdd: np.ndarray, reference: np.datetime64) -> np.ndarray:
    """The reference loader's date sequence: sorted unique days (int64) from ``reference`` to each
    ``yyyymmdd`` date of one series (negative before it).

    Raises ``ValueError`` when a value is not a calendar date.
    """
    days = (yyyymmdd_to_day(yyyymmdd) - reference).astype(np.int64)
    return np.unique(days)
