"""Export a dataset directory as IBM TabFormer CSV files.

    export_tabformer("out/world", "card_transaction.v1.csv", "sd254_users.csv", "sd254_cards.csv")

``card_transaction.v1.csv`` has TabFormer's exact text format::

    User,Card,Year,Month,Day,Time,Amount,Use Chip,Merchant Name,Merchant City,Merchant State,Zip,MCC,Errors?,Is Fraud?
    0,0,2002,9,1,06:21,$134.09,Swipe Transaction,3527213246127876953,La Verne,CA,91750.0,5300,,No
    0,0,2002,9,3,06:22,$-500.00,Online Transaction,-8194607650924472520,ONLINE,,,4829,,No

Month and Day without leading zeros, Time HH:MM, Amount ``$`` then the signed amount with 2 decimals, Zip
the ZIP as a float (``02134`` -> ``2134.0``; empty when null), Merchant State empty when null, Errors?
empty when none and quoted when it holds a comma, Is Fraud? Yes/No. Rows are grouped by user, then card,
then time (a stable sort of each shard by (user, card); users never span shards).

``sd254_cards.csv`` has one row per card (user, card index): its latest issue. Card on Dark Web is "No"
throughout, as in TabFormer's own file: whether fraud leaked a card is a debugging truth (it stays in
``cards.parquet``), not a feature.

The export streams: a run of whole-user row groups at a time (a shard's row groups never split a user
and hold at most 65,536 rows, io.row_groups; row groups that do split one are read together), formatted
by a numba kernel straight into a byte buffer that is written in blocks. Memory holds one such run, the
buffer, and the consumers and cards tables for the sd254 files. Every output is written under a temporary
name and renamed only when all of them are complete.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from numba import njit

from cardworld.dates import SECONDS_PER_DAY, SECONDS_PER_HOUR, civil_date
from cardworld.errors import FIX, Fix, InputError, option_fix
from cardworld.io.atomic import atomic_output
from cardworld.io.cards import latest_card_issues
from cardworld.io.dataset import list_shards, read_manifest, read_table
from cardworld.io.schema import conform
from cardworld.io.sd254 import (
    SD254_CARDS_HEADER,
    SD254_USERS_HEADER,
    csv_text,
    write_sd254_cards,
    write_sd254_users,
)
from cardworld.jit import JIT_OPTIONS, kernel

TABFORMER_HEADER = (
    "User,Card,Year,Month,Day,Time,Amount,Use Chip,Merchant Name,Merchant City,Merchant State,Zip,MCC,"
    "Errors?,Is Fraud?"
)
_COLUMNS = (
    "user_id",
    "card_id",
    "timestamp",
    "amount",
    "use_chip",
    "merchant_id",
    "merchant_city",
    "merchant_state",
    "zip",
    "mcc",
    "errors",
    "is_fraud",
)
_STRING_COLUMNS = ("merchant_city", "merchant_state", "zip", "errors")
_PAD = 16  # spare bytes after formatted fields and in the output buffer (see _put_code)
_BLOCK = 1 << 23  # output buffer bytes per write
_ROW_BASE = 160  # bytes a row needs besides its string fields (numbers, separators), with room to spare


@dataclass(frozen=True)
class ExportResult:
    """Rows written per file (None where the file was not asked for)."""

    transactions: int
    users: int | None = None
    cards: int | None = None
    end_year: int | None = None


def export_tabformer(
    dataset_dir: str | os.PathLike,
    out_csv: str | os.PathLike,
    users_csv: str | os.PathLike | None = None,
    cards_csv: str | os.PathLike | None = None,
    *,
    end_year: int | None = None,
    overwrite: bool = False,
    allow_partial: bool = False,
) -> ExportResult:
    """Write the TabFormer transactions CSV of a dataset directory (and optionally sd254 users/cards CSVs).

    `end_year` is the year "Current Age" in sd254_users.csv is relative to; by default the year of the
    latest transaction. A dataset whose manifest says "partial" is refused unless `allow_partial`.
    """
    directory = Path(dataset_dir)
    manifest = read_manifest(directory)
    if manifest["status"] != "complete" and not allow_partial:
        raise InputError(
            f"dataset {str(directory)!r} is partial (its run did not finish); finish or re-run it first "
            f"(or {FIX} to export the shards written so far)",
            fix=option_fix("allow_partial", "--allow-partial"),
        )
    outs = [Path(p) for p in (out_csv, users_csv, cards_csv) if p is not None]
    if len({p.resolve() for p in outs}) != len(outs):
        raise InputError(
            f"output paths {', '.join(map(str, outs))} must all differ; give distinct file names"
        )
    with ExitStack() as stack:  # every output commits only when all are complete
        tx_tmp = stack.enter_context(atomic_output(out_csv, overwrite=overwrite))
        users_tmp = (
            None if users_csv is None else stack.enter_context(atomic_output(users_csv, overwrite=overwrite))
        )
        cards_tmp = (
            None if cards_csv is None else stack.enter_context(atomic_output(cards_csv, overwrite=overwrite))
        )
        with open(tx_tmp, "wb") as f:
            n_rows, max_time = write_tabformer_transactions(user_group_tables(directory), f)
        n_users = n_cards = None
        year = end_year
        if users_tmp is not None:
            if year is None:
                if max_time is None:
                    raise InputError(
                        f"dataset {str(directory)!r} has no transactions to take the end year from; "
                        f"{FIX} for the Current Age column",
                        fix=Fix("pass end_year=YEAR", "pass --end-year YEAR"),
                    )
                year = int(np.datetime64(max_time, "s").astype("datetime64[Y]").astype(np.int64)) + 1970
            n_users = write_sd254_users(read_table(directory, "consumers"), users_tmp, end_year=year)
        if cards_tmp is not None:
            n_cards = write_sd254_cards(read_table(directory, "cards"), cards_tmp)
    return ExportResult(transactions=n_rows, users=n_users, cards=n_cards, end_year=year)


# ---------------------------------------------------------------------------------------------------------
# Transactions


def user_group_tables(directory: str | os.PathLike) -> Iterator[tuple[Path, pa.Table]]:
    """(shard path, table) of each run of row groups of whole users of each transactions shard, in order,
    with the columns the CSV needs (string columns as dictionaries), contract types."""
    for path in list_shards(directory):
        where = f"file {str(path)!r}"
        if not path.is_file():
            raise InputError(
                f"{where} is missing; the dataset is incomplete: re-run it (or restore the file)"
            )
        try:
            pf = pq.ParquetFile(path, read_dictionary=list(_STRING_COLUMNS))
            if missing := [c for c in _COLUMNS if c not in pf.schema_arrow.names]:
                raise InputError(
                    f"{where} has no column(s) {', '.join(missing)}; it is not a transactions shard"
                )
            runs = _whole_user_runs(pf.metadata)
            tables = (pf.read_row_groups(run, columns=list(_COLUMNS)) for run in runs)
            for table in tables:
                yield path, conform("transactions", table, where=where, subset=True, keep_dictionary=True)
        except (pa.ArrowException, OSError) as e:
            raise InputError(
                f"{where} is not a readable Parquet file ({e}); it is damaged: re-run the dataset"
            ) from e


def _whole_user_runs(md: pq.FileMetaData) -> list[list[int]]:
    """Row groups to read together so that no user spans two runs, from the user_id statistics; one run
    of every row group when a row group has none."""
    names = [md.schema.column(j).path for j in range(md.num_columns)]
    everything = [list(range(md.num_row_groups))] if md.num_row_groups else []
    if "user_id" not in names:
        return everything
    j = names.index("user_id")
    runs: list[list[int]] = []
    last = None
    for i in range(md.num_row_groups):
        stats = md.row_group(i).column(j).statistics
        if md.row_group(i).num_rows == 0:
            continue
        if stats is None or not stats.has_min_max:
            return everything
        if last is None or stats.min > last:
            runs.append([])
        runs[-1].append(i)
        last = stats.max if last is None else max(last, stats.max)
    return runs or everything


def write_tabformer_transactions(
    shards: Iterable[tuple[Path, pa.Table]],
    f,
    *,
    header: bool = True,
) -> tuple[int, int | None]:
    """Write TabFormer CSV lines of transactions shards to binary file `f`; (rows, latest time in s).

    Each table needs the transactions contract columns (types as in the contract). Users must not span
    shards and must ascend from one shard to the next.
    """
    if header:
        f.write((TABFORMER_HEADER + "\n").encode())
    total = 0
    max_time: int | None = None
    prev: tuple[Path, int] | None = None
    buf = np.empty(_BLOCK, dtype=np.uint8)
    for path, table in shards:
        if table.num_rows == 0:
            continue
        user = _np(table, "user_id", np.int32)
        if prev is not None and user.min() <= prev[1]:
            raise InputError(
                f"file {str(path)!r} holds user {int(user.min())}, but an earlier shard {str(prev[0])!r} holds "
                f"users up to {prev[1]}; each user's rows must be in one shard and shards in user order"
            )
        prev = (path, int(user.max()))
        buf = _write_table(table, path, f, buf)
        t = table.column("timestamp").cast(pa.int64())
        last = int(pc.max(t).as_py())
        max_time = last if max_time is None else max(max_time, last)
        total += table.num_rows
    return total, max_time


def tabformer_bytes(table: pa.Table, *, header: bool = True) -> bytes:
    """The TabFormer CSV text of one transactions table (for tests and small exports)."""
    import io

    f = io.BytesIO()
    table = conform("transactions", table)
    write_tabformer_transactions([(Path("<table>"), table)], f, header=header)
    return f.getvalue()


def _np(table: pa.Table, name: str, dtype) -> np.ndarray:
    col = table.column(name)
    if col.null_count:
        raise InputError(f"column {name!r} has nulls; it must not")
    return np.ascontiguousarray(col.to_numpy(), dtype=dtype)


class _Coded:
    """A string column as codes into its formatted CSV fields: codes, field offsets, field bytes.

    Nulls get the code of an extra empty field. The bytes end with _PAD spare bytes so that the
    formatter can copy short fields with a fixed-length loop.
    """

    def __init__(self, col: pa.ChunkedArray | pa.Array, fmt):
        if isinstance(col, pa.Array):
            col = pa.chunked_array([col])
        if not pa.types.is_dictionary(col.type):
            col = col.cast(pa.string()).dictionary_encode()
        if col.num_chunks == 0:
            col = pa.chunked_array([pa.array([], col.type)])
        if col.num_chunks > 1:
            col = col.unify_dictionaries()
        dictionary = col.chunk(0).dictionary
        empty = len(dictionary)
        parts = [c.indices.fill_null(empty).to_numpy(zero_copy_only=False) for c in col.chunks]
        self.codes = np.ascontiguousarray(
            np.concatenate(parts) if len(parts) > 1 else parts[0], dtype=np.int32
        )
        fields = pa.concat_arrays([fmt(dictionary).cast(pa.string()), pa.array([""], pa.string())])
        bufs = fields.buffers()
        self.offsets = np.frombuffer(bufs[1], dtype=np.int32)[fields.offset : fields.offset + len(fields) + 1]
        data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
        self.data = np.concatenate([data[: self.offsets[-1]], np.zeros(_PAD, np.uint8)])
        self.max_len = int(np.diff(self.offsets).max())


def _tabformer_zip(values: pa.Array) -> pa.Array:
    """ZIP strings as TabFormer writes them: the float of the number, 02134 -> 2134.0."""
    values = values.cast(pa.string())
    digits = pc.match_substring_regex(values, "^[0-9]{1,18}$")
    if not pc.all(digits).as_py():
        bad = values.filter(pc.invert(digits))[0].as_py()
        raise InputError(f"zip holds {bad!r}, which is not a ZIP; ZIPs must be digits (or null)")
    number = pc.cast(values, pa.int64())
    return pc.binary_join_element_wise(pc.cast(number, pa.string()), ".0", "")


def _write_table(table: pa.Table, path: Path, f, buf: np.ndarray) -> np.ndarray:
    where = f"file {str(path)!r}"
    user = _np(table, "user_id", np.int32)
    card = _np(table, "card_id", np.int16)
    secs = np.ascontiguousarray(table.column("timestamp").cast(pa.int64()).to_numpy(), dtype=np.int64)
    amount = _np(table, "amount", np.float64)
    if not np.isfinite(amount).all():
        i = int(np.flatnonzero(~np.isfinite(amount))[0])
        raise InputError(f"{where}: amount at row {i} is {amount[i]}; amounts must be finite")
    cents = np.rint(amount * 100.0).astype(np.int64)
    mid = _np(table, "merchant_id", np.int64)
    mcc = _np(table, "mcc", np.int64)
    fraud = _np(table, "is_fraud", np.bool_)
    try:
        chip, city, state, errors = (
            _Coded(table.column(c), csv_text)
            for c in ("use_chip", "merchant_city", "merchant_state", "errors")
        )
        zipc = _Coded(table.column("zip"), _tabformer_zip)
    except InputError as e:
        raise InputError(f"{where}: {e}") from e
    order = _tabformer_order(user, card, secs)
    row_max = _ROW_BASE + _PAD + sum(c.max_len for c in (chip, city, state, zipc, errors))
    if buf.size < 2 * row_max:
        buf = np.empty(2 * row_max, dtype=np.uint8)
    i = 0
    while i < order.size:
        i, pos = _format_rows(
            order, i, user, card, secs, cents, mid, mcc, fraud,
            chip.codes, chip.offsets, chip.data, city.codes, city.offsets, city.data,
            state.codes, state.offsets, state.data, zipc.codes, zipc.offsets, zipc.data,
            errors.codes, errors.offsets, errors.data, buf, buf.size - row_max,
        )  # fmt: skip
        f.write(memoryview(buf)[:pos])
    return buf


def _tabformer_order(user: np.ndarray, card: np.ndarray, secs: np.ndarray) -> np.ndarray:
    """Row order grouped by user, then card, then time: stable, so equal times keep shard order."""
    n = user.size
    same_user = user[1:] == user[:-1]
    if (user[1:] < user[:-1]).any() or (same_user & (secs[1:] < secs[:-1])).any():
        return np.lexsort((secs, card, user))  # not sorted by (user, time): sort fully
    if not (same_user & (card[1:] < card[:-1])).any():
        return np.arange(n, dtype=np.int64)
    key = (user.astype(np.int64) << 16) | (card.astype(np.int64) & 0xFFFF)
    return np.argsort(key, kind="stable")


# The small helpers of the row formatter are inlined into it at compile time (a call that passes arrays
# costs more than their work); _put_uint, only reached for numbers >= 100, stays a call, which halves the
# first compile (~5 s instead of ~10 s; cached after) for ~10% of formatting speed.
_inline = njit(inline="always", **{k: v for k, v in JIT_OPTIONS.items() if k != "cache"})
_DIGIT_PAIRS = np.frombuffer("".join(f"{k:02d}" for k in range(100)).encode(), dtype=np.uint8).copy()
_POW10 = np.array([10**k for k in range(20)], dtype=np.uint64)


@kernel
def _put_uint(out, pos, v):
    """Write the decimal digits of uint64 v at out[pos:], two at a time; return the new position."""
    n = 1
    while n < 20 and v >= _POW10[n]:
        n += 1
    p = pos + n
    hundred = np.uint64(100)
    while v >= hundred:
        q = v // hundred
        r = 2 * np.int64(v - q * hundred)
        p -= 2
        out[p] = _DIGIT_PAIRS[r]
        out[p + 1] = _DIGIT_PAIRS[r + 1]
        v = q
    if v >= np.uint64(10):
        r = 2 * np.int64(v)
        out[p - 2] = _DIGIT_PAIRS[r]
        out[p - 1] = _DIGIT_PAIRS[r + 1]
    else:
        out[p - 1] = 48 + np.int64(v)
    return pos + n


@_inline
def _put_int(out, pos, v):
    """Write the decimal digits of int64 v (any value, int64 min included); return the new position."""
    if v < 0:
        out[pos] = 45  # '-'
        return _put_uint(out, pos + 1, np.uint64(0) - np.uint64(v))
    if v < 100:  # months, days, card indices: no loop
        if v < 10:
            out[pos] = 48 + v
            return pos + 1
        out[pos] = _DIGIT_PAIRS[2 * v]
        out[pos + 1] = _DIGIT_PAIRS[2 * v + 1]
        return pos + 2
    return _put_uint(out, pos, np.uint64(v))


@_inline
def _put_2(out, pos, v):
    out[pos] = _DIGIT_PAIRS[2 * v]
    out[pos + 1] = _DIGIT_PAIRS[2 * v + 1]
    return pos + 2


@_inline
def _put_code(out, pos, code, offsets, data):
    """Copy formatted field `code`; return the new position. Short fields copy _PAD bytes in one go
    (bytes past the field are overwritten by what follows), which beats a loop of varying length."""
    a = offsets[code]
    n = offsets[code + 1] - a
    # unsigned indices: numba skips its negative-index wraparound, so the fixed loop unrolls
    ua, up = np.uint64(a), np.uint64(pos)
    for k in range(_PAD if n <= _PAD else n):
        uk = np.uint64(k)
        out[up + uk] = data[ua + uk]
    return pos + n


@kernel
def _format_rows(
    order, i, user, card, secs, cents, mid, mcc, fraud,
    chip, chip_off, chip_data, city, city_off, city_data, state, state_off, state_data,
    zipc, zip_off, zip_data, err, err_off, err_data, out, limit,
):  # fmt: skip
    """Format rows order[i:] as TabFormer CSV lines into out until pos passes limit; (next i, bytes)."""
    pos = 0
    last_day = np.int64(-(2**62))
    y = m = d = np.int64(0)
    n = order.size
    while i < n and pos < limit:
        r = order[i]
        pos = _put_int(out, pos, np.int64(user[r]))
        out[pos] = 44  # ','
        pos = _put_int(out, pos + 1, np.int64(card[r]))
        out[pos] = 44
        s = secs[r]
        day = s // SECONDS_PER_DAY
        if day != last_day:
            last_day = day
            y, m, d = civil_date(day)
        pos = _put_int(out, pos + 1, y)
        out[pos] = 44
        pos = _put_int(out, pos + 1, m)
        out[pos] = 44
        pos = _put_int(out, pos + 1, d)
        out[pos] = 44
        sec = s - day * SECONDS_PER_DAY
        pos = _put_2(out, pos + 1, sec // SECONDS_PER_HOUR)
        out[pos] = 58  # ':'
        pos = _put_2(out, pos + 1, (sec // 60) % 60)
        out[pos] = 44
        out[pos + 1] = 36  # '$'
        pos += 2
        c = cents[r]
        if c < 0:
            out[pos] = 45
            pos += 1
            c = -c
        pos = _put_int(out, pos, c // 100)
        out[pos] = 46  # '.'
        pos = _put_2(out, pos + 1, c % 100)
        out[pos] = 44
        pos = _put_code(out, pos + 1, chip[r], chip_off, chip_data)
        out[pos] = 44
        pos = _put_int(out, pos + 1, mid[r])
        out[pos] = 44
        pos = _put_code(out, pos + 1, city[r], city_off, city_data)
        out[pos] = 44
        pos = _put_code(out, pos + 1, state[r], state_off, state_data)
        out[pos] = 44
        pos = _put_code(out, pos + 1, zipc[r], zip_off, zip_data)
        out[pos] = 44
        pos = _put_int(out, pos + 1, mcc[r])
        out[pos] = 44
        pos = _put_code(out, pos + 1, err[r], err_off, err_data)
        out[pos] = 44
        pos += 1
        if fraud[r]:
            out[pos] = 89  # Yes
            out[pos + 1] = 101
            out[pos + 2] = 115
            pos += 3
        else:
            out[pos] = 78  # No
            out[pos + 1] = 111
            pos += 2
        out[pos] = 10
        pos += 1
        i += 1
    return i, pos


__all__ = [
    "SD254_CARDS_HEADER",
    "SD254_USERS_HEADER",
    "TABFORMER_HEADER",
    "ExportResult",
    "export_tabformer",
    "latest_card_issues",
    "tabformer_bytes",
    "user_group_tables",
    "write_sd254_cards",
    "write_sd254_users",
    "write_tabformer_transactions",
]
