"""Compile target specs once into a numeric plan: flat arrays the kernels read, with shared parts merged.

Specs that share a filter share one keep-mask and prefix count; specs that share (filter, value) share one
prefix sum; specs that share a window share its (start, end) bounds. A plan is plain numpy arrays, so it
pickles into DataLoader workers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from cardworld.targets.kernel_codes import AGG_CODES, MODE_CODES, WIN_KIND_CODES
from cardworld.targets.spec import (
    CALENDAR_UNITS,
    MCC_MAX,
    AnySpec,
    MixedTarget,
    TargetSpec,
    as_spec_list,
    check_spec_set,
    parse_window,
    spec_output_names,
    topo_order,
)

MCC_TABLE_SIZE = MCC_MAX + 1


@dataclass(frozen=True)
class TargetPlan:
    """Specs compiled to arrays. Build with `compile_plan(specs)`; pass it to compute_targets for specs."""

    names: list[str]  # visible output names, in order
    value_columns: list[str]  # value columns read; 'amount' is always first (filters use it)
    uses_mcc: bool
    unit_used: np.ndarray  # (5,) uint8: calendar units needed
    n_filters: int
    mcc_bits: np.ndarray  # (words, 10000) uint64: bit f of word f//64 set where filter f keeps that MCC
    all_bits: np.ndarray  # (words,) uint64: bits of every filter (rows when no filter looks at MCCs)
    bounded: np.ndarray  # (B,) int64: filters with amount bounds
    bounds: np.ndarray  # (B, 2) float64: their amount_min, amount_max (inclusive; +-inf when absent)
    channels: np.ndarray  # (C, 2) int64: (filter, value column) pairs that need a prefix sum
    windows: np.ndarray  # (W, 4) int64: (kind, unit, mode, parameter)
    spec_int: np.ndarray  # (S, 7) int64: agg, filter, value column, channel, window, k, first column
    spec_float: np.ndarray  # (S, 3) float64: fill, threshold, has_threshold
    mix_int: np.ndarray  # (X, 2) int64: column, has denominator
    mix_float: np.ndarray  # (X, 3) float64: fill, threshold, has_threshold
    num_ptr: np.ndarray  # (X+1,) CSR of numerator terms
    num_col: np.ndarray
    num_coef: np.ndarray
    den_ptr: np.ndarray  # (X+1,) CSR of denominator terms
    den_col: np.ndarray
    den_coef: np.ndarray
    n_columns: int  # visible + hidden columns computed
    max_k: int
    specs_json: str = field(repr=False)

    @property
    def n_outputs(self) -> int:
        return len(self.names)


def _filter_key(s: TargetSpec) -> tuple:
    return (
        tuple(s.mcc) if s.mcc else None,
        tuple(s.exclude_mcc) if s.exclude_mcc else None,
        s.amount_min,
        s.amount_max,
    )


def compile_plan(specs: AnySpec | list[AnySpec] | TargetPlan) -> TargetPlan:
    """Validate a set of specs and compile it (cached by the specs' content)."""
    if isinstance(specs, TargetPlan):
        return specs
    spec_list = as_spec_list(specs)
    check_spec_set(spec_list)
    key = json.dumps([[type(s).__name__, s.model_dump()] for s in spec_list], sort_keys=True)
    plan = _PLANS.get(key)
    if plan is None:
        if len(_PLANS) >= 64:
            _PLANS.clear()
        plan = _PLANS[key] = _compile(spec_list, key)
    return plan


_PLANS: dict[str, TargetPlan] = {}


def _compile(specs: list[AnySpec], key: str) -> TargetPlan:
    col_of, names = _columns(specs)
    rows = _TargetRows.of(specs, col_of)
    filters = _filter_tables(rows.filters)
    mixed = _mixed_rows(specs, col_of)
    return TargetPlan(
        names=names,
        value_columns=rows.value_columns,
        uses_mcc=filters.uses_mcc,
        unit_used=rows.unit_used,
        n_filters=filters.n_filters,
        mcc_bits=filters.mcc_bits,
        all_bits=filters.all_bits,
        bounded=filters.bounded,
        bounds=filters.bounds,
        channels=_arr([list(k) for k in rows.channels], 2, np.int64),
        windows=_arr([list(k) for k in rows.windows], 4, np.int64),
        spec_int=_arr(rows.spec_int, 7, np.int64),
        spec_float=_arr(rows.spec_float, 3, np.float64),
        **mixed,
        n_columns=len(col_of),
        max_k=rows.max_k,
        specs_json=key,
    )


def _arr(rows: list, width: int, dtype: type) -> np.ndarray:
    """rows as a (len(rows), width) array, also when there are none."""
    return np.array(rows, dtype=dtype).reshape(len(rows), width)


def _columns(specs: list[AnySpec]) -> tuple[dict[str, int], list[str]]:
    """Column of every output name (visible outputs first, in spec order, hidden ones after; one block per
    spec), and the visible names in order."""
    col_of: dict[str, int] = {}
    names: list[str] = []
    for s in [s for s in specs if s.output] + [s for s in specs if not s.output]:
        for n in spec_output_names(s):
            col_of[n] = len(col_of)
            if s.output:
                names.append(n)
    return col_of, names


@dataclass
class _TargetRows:
    """One spec_int / spec_float row per TargetSpec, with the filters, prefix-sum channels and windows they
    share numbered in order of first use."""

    value_columns: list[str] = field(default_factory=lambda: ["amount"])
    filters: dict[tuple, int] = field(default_factory=dict)
    channels: dict[tuple[int, int], int] = field(default_factory=dict)
    windows: dict[tuple[int, int, int, int], int] = field(default_factory=dict)
    unit_used: np.ndarray = field(default_factory=lambda: np.zeros(len(CALENDAR_UNITS), dtype=np.uint8))
    spec_int: list[list[int]] = field(default_factory=list)
    spec_float: list[list[float]] = field(default_factory=list)
    max_k: int = 1

    @classmethod
    def of(cls, specs: list[AnySpec], col_of: dict[str, int]) -> _TargetRows:
        rows = cls()
        for s in specs:
            if isinstance(s, TargetSpec):
                rows.add(s, col_of[spec_output_names(s)[0]])
        return rows

    def add(self, s: TargetSpec, first_col: int) -> None:
        f = self.filters.setdefault(_filter_key(s), len(self.filters))
        if s.value not in self.value_columns:
            self.value_columns.append(s.value)
        v = self.value_columns.index(s.value)
        ch = self.channels.setdefault((f, v), len(self.channels)) if s.agg in ("sum", "mean") else -1
        w = self.windows.setdefault(self._window_key(s), len(self.windows))
        k = s.k if s.agg == "top_k" else 1
        self.max_k = max(self.max_k, k)
        self.spec_int.append([AGG_CODES[s.agg], f, v, ch, w, k, first_col])
        has_thr = s.threshold is not None
        self.spec_float.append([s.fill, s.threshold if has_thr else 0.0, float(has_thr)])

    def _window_key(self, s: TargetSpec) -> tuple[int, int, int, int]:
        """(kind, unit, mode, parameter); a calendar window's parameter is its number of periods."""
        kind, param = parse_window(s.window)
        unit = 0
        if kind == "calendar":
            unit, param = param, s.periods
            self.unit_used[unit] = 1
        return (WIN_KIND_CODES[kind], unit, MODE_CODES[str(s.mode)], param)


@dataclass(frozen=True)
class _FilterTables:
    n_filters: int
    mcc_bits: np.ndarray
    all_bits: np.ndarray
    bounded: np.ndarray
    bounds: np.ndarray
    uses_mcc: bool


def _filter_tables(filters: dict[tuple, int]) -> _FilterTables:
    """The MCC bit table (one bit per filter), every filter's bit, and the filters with amount bounds."""
    n_f = max(len(filters), 1)
    words = (n_f + 63) // 64
    mcc_bits = np.zeros((words, MCC_TABLE_SIZE), dtype=np.uint64)
    all_bits = np.zeros(words, dtype=np.uint64)
    bounded, bounds = [], []
    uses_mcc = False
    for (inc, exc, amin, amax), f in filters.items():
        keep = (
            np.zeros(MCC_TABLE_SIZE, dtype=bool) if inc is not None else np.ones(MCC_TABLE_SIZE, dtype=bool)
        )
        if inc is not None:
            keep[list(inc)] = True
        if exc is not None:
            keep[list(exc)] = False
        uses_mcc |= inc is not None or exc is not None
        bit = np.uint64(1) << np.uint64(f % 64)
        mcc_bits[f // 64, keep] |= bit
        all_bits[f // 64] |= bit
        if amin is not None or amax is not None:
            bounded.append(f)
            bounds.append([-np.inf if amin is None else amin, np.inf if amax is None else amax])
    return _FilterTables(
        n_f, mcc_bits, all_bits, np.array(bounded, dtype=np.int64), _arr(bounds, 2, np.float64), uses_mcc
    )


def _mixed_rows(specs: list[AnySpec], col_of: dict[str, int]) -> dict[str, np.ndarray]:
    """Mixed targets in dependency order: their rows and CSR numerator / denominator terms (TargetPlan
    fields by name)."""
    mix_int, mix_float = [], []
    num_ptr, num_col, num_coef = [0], [], []
    den_ptr, den_col, den_coef = [0], [], []
    for i in topo_order(specs):
        m = specs[i]
        assert isinstance(m, MixedTarget)
        for ref, c in m.terms.items():
            num_col.append(col_of[ref])
            num_coef.append(c)
        num_ptr.append(len(num_col))
        for ref, c in (m.divide_by or {}).items():
            den_col.append(col_of[ref])
            den_coef.append(c)
        den_ptr.append(len(den_col))
        has_thr = m.threshold is not None
        mix_int.append([col_of[m.name], int(m.divide_by is not None)])
        mix_float.append([m.fill, m.threshold if has_thr else 0.0, float(has_thr)])
    return {
        "mix_int": _arr(mix_int, 2, np.int64),
        "mix_float": _arr(mix_float, 3, np.float64),
        "num_ptr": np.array(num_ptr, dtype=np.int64),
        "num_col": np.array(num_col, dtype=np.int64),
        "num_coef": np.array(num_coef, dtype=np.float64),
        "den_ptr": np.array(den_ptr, dtype=np.int64),
        "den_col": np.array(den_col, dtype=np.int64),
        "den_coef": np.array(den_coef, dtype=np.float64),
    }
