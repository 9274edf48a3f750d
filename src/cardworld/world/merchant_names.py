"""Merchant names and chain membership, derived from the merchant hash alone (vectorised).

A merchant is a pure function of (cell, MCC, k) and its id is a uint64 hash ``h``
(``cardworld.world.merchants``), so its name must be too: every draw here is ``uniform_from_hash(h, salt)``
with a fixed salt, and the per-(MCC, country, online) tables are built from the chain table alone. A
merchant's name therefore does not depend on which other merchants share its batch or in what order.

Rules:

* **Chain or independent.** A store merchant is an outlet of a chain with probability ``p``, the chain
  share of its MCC group (``merchant_names_data.CHAIN_SHARES``: fuel 0.6, grocery 0.5, fast food 0.7,
  ...; 0.3 otherwise), provided some chain with in-store trade (``online < 1``) lists its MCC and country; otherwise it is independent.
  ``p`` is tilted by the place's urbanicity ``u`` and the candidates' weighted mean ``urban`` preference:
  ``p * (1 + 0.25 * tilt * (2u - 1))`` with ``tilt = sum(w * (2 urban - 1)) / sum(w)`` in [-1, 1], so
  downtown-leaning chains are a little more common in dense cities and highway/rural-leaning ones (dollar
  stores, truck-stop fuel) in the country. A share of 1 is not tilted: such a merchant is always a chain.
* **Which chain.** Drawn by in-store weight ``weight * (1 - online)`` times an urban affinity
  ``1 + 0.6 * (2 urban - 1) * (2u - 1)`` (1 everywhere at ``u = 0.5``). The affinity is linear in ``u``,
  so the draw is an exact two-component mixture of the ``u = 0`` and ``u = 1`` distributions: one uniform
  picks the component, another inverts its cumulative weights (one ``searchsorted`` for all rows).
* **Online merchants** are always a chain with online presence (``online > 0``) for the MCC and country
  when one exists, drawn by ``weight * online`` (urbanicity plays no part), else an independent web shop
  ("BrightBooks.com").
* **Network brand codes 3000-3999** (airlines, car rental, lodging) name the brand, so their share is 1:
  the merchant is that brand's chain row even where the chain table does not list the country (a United
  Airlines counter abroad still acquires under 3000); a brand code with no chain row at all is named
  after its network description (3516 -> "LaQuinta Inns") with ``chain`` None.
* **Independent names** combine a surname (the Census list in ``names_data``), or an invented place word,
  with an MCC-appropriate suffix ("Garcia's Grill", "Riverside Market", "Nguyen Auto Repair"); civic
  MCCs (schools, hospitals, courts, churches, utilities) use only the place-word form. Foreign merchants
  mostly use a neutral word list. The word and suffix tables (``merchant_names_data``) are invented for
  this simulator.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from cardworld.data.chains import Chains, load_chains
from cardworld.errors import InputError
from cardworld.world.merchant_names_data import (
    CHAIN_SHARES,
    CIVIC_MCCS,
    FOREIGN_WORDS,
    NOT_PLACE_WORDS,
    SHARE_DEFAULT,
    SUFFIX_DEFAULT,
    SUFFIX_SPEC,
    US_WORDS,
    WEB_PREFIXES,
)
from cardworld.world.merchants import uniform_from_hash
from cardworld.world.names_data import LAST_NAMES, STREET_NAMES

# Fixed salts, one per draw; changing one renames merchants.
_SALT_IS_CHAIN = 0x4D4E_0001_C4A1_0001
_SALT_COMPONENT = 0x4D4E_0002_C4A1_0002
_SALT_PICK = 0x4D4E_0003_C4A1_0003
_SALT_FORMAT = 0x4D4E_0004_C4A1_0004
_SALT_SURNAME = 0x4D4E_0005_C4A1_0005
_SALT_WORD = 0x4D4E_0006_C4A1_0006
_SALT_SUFFIX = 0x4D4E_0007_C4A1_0007

SHARE_URBAN_TILT = 0.25  # chain share moves by at most +-25% between u = 0 and u = 1
DRAW_URBAN_TILT = 0.6  # chain affinity 0.4 .. 1.6 at the extremes of urban mismatch / match
_PICK_BITS = 33  # resolution of the chain draw (integer thresholds: exact, batch-independent)


class _Words(NamedTuple):
    surname: np.ndarray  # "O'Brien"
    possessive: np.ndarray  # "O'Brien's", "Stephens'"
    web_surname: np.ndarray  # "OBrien"
    us: np.ndarray
    foreign: np.ndarray
    prefix: np.ndarray


@lru_cache(maxsize=1)
def _words() -> _Words:
    """Object arrays for the name parts. Surnames are the Census list, drawn uniformly (shop names are less
    concentrated than people's), with Mc/O' capitalised; US words are the invented list plus the
    non-ordinal street names of ``names_data``."""

    def fix(s: str) -> str:
        if s.startswith("Mc") and len(s) > 2:
            return "Mc" + s[2].upper() + s[3:]
        return {"Obrien": "O'Brien", "Oconnor": "O'Connor", "Oneil": "O'Neil"}.get(s, s)

    surnames = [fix(s) for s in LAST_NAMES]
    streets = [s for s in STREET_NAMES if s not in NOT_PLACE_WORDS and not s.endswith("th")]
    out = _Words(
        *(
            np.array(t, dtype=object)
            for t in (
                surnames,
                [s + ("'" if s.endswith("s") else "'s") for s in surnames],
                ["".join(c for c in s if c.isalnum()) for s in surnames],
                list(dict.fromkeys(US_WORDS + tuple(streets))),
                FOREIGN_WORDS,
                WEB_PREFIXES,
            )
        )
    )
    for arr in out:
        arr.setflags(write=False)
    return out


def _codes(spec: str) -> list[int]:
    out: list[int] = []
    for part in spec.split():
        lo, _, hi = part.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out


class _Suffixes(NamedTuple):
    start: np.ndarray  # per MCC 0..9999: first suffix in ``text``
    count: np.ndarray  # per MCC: how many
    text: np.ndarray  # object: "Grill", "Wine & Spirits"
    web: np.ndarray  # object: the same, letters and digits only ("WineSpirits")
    civic: np.ndarray  # per MCC: bool


@lru_cache(maxsize=1)
def _suffixes() -> _Suffixes:
    by_mcc: dict[int, tuple[str, ...]] = {}
    for spec, suffixes in SUFFIX_SPEC:
        for code in _codes(spec):
            by_mcc.setdefault(code, suffixes)
    tables = [SUFFIX_DEFAULT, *dict.fromkeys(by_mcc.values())]
    first = np.cumsum([0] + [len(t) for t in tables])
    where = {t: i for i, t in enumerate(tables)}
    index = np.array([where[by_mcc.get(m, SUFFIX_DEFAULT)] for m in range(10_000)])
    text = [x for t in tables for x in t]
    civic = np.zeros(10_000, dtype=bool)
    civic[list(CIVIC_MCCS)] = True
    out = _Suffixes(
        first[index],
        np.array([len(t) for t in tables])[index],
        np.array(text, dtype=object),
        np.array(["".join(c for c in x if c.isalnum()) for x in text], dtype=object),
        civic,
    )
    for arr in out:
        arr.setflags(write=False)
    return out


def chain_share(mcc: int) -> float:
    """Base chain share of a store merchant with this MCC (before the urban tilt), where chains exist."""
    for lo, hi, share in CHAIN_SHARES:
        if lo <= mcc <= hi:
            return share
    return SHARE_DEFAULT


def _brand_code(mcc: int) -> bool:
    return 3000 <= mcc <= 3999


@lru_cache(maxsize=1)
def _chains() -> Chains:
    return load_chains()


@lru_cache(maxsize=1)
def _chain_names() -> np.ndarray:
    names = _chains().name.astype(object)
    names.setflags(write=False)
    return names


@dataclass(frozen=True, eq=False)
class _Group:
    """One (MCC, country, online): its chain candidates (may be none) with their draw tables, the chain
    share and, for a brand code without a chain row, the brand's name."""

    rows: np.ndarray  # chain rows (int64)
    q0: np.ndarray  # cumulative weights at u = 0 as integers in (0, 2**_PICK_BITS], last exact
    q1: np.ndarray  # the same at u = 1
    t0: float  # total weight at u = 0, relative to u = 0.5
    t1: float  # the same at u = 1
    share: float  # chain share at u = 0.5 (0: always independent)
    tilt: float  # weighted mean of (2 urban - 1) over the candidates, in [-1, 1]
    brand: str | None  # a brand code with no chain row: the merchant's name

    @property
    def stats(self) -> tuple[float, float, float, float, int, bool]:
        return (self.share, self.tilt, self.t0, self.t1, len(self.rows), self.brand is not None)


_EMPTY = np.zeros(0, dtype=np.int64)
_NO_CHAINS = _Group(_EMPTY, _EMPTY, _EMPTY, 1.0, 1.0, 0.0, 0.0, None)


def _quantised_cdf(w: np.ndarray) -> np.ndarray:
    scale = 1 << _PICK_BITS
    q = np.ceil(np.cumsum(w) / w.sum() * scale).astype(np.int64)
    q[-1] = scale
    return q


@lru_cache(maxsize=65536)
def _group(mcc: int, country: str, online: bool) -> _Group:
    ch = _chains()
    rows = ch.chains_for(mcc, country)
    if len(rows) == 0:
        if not _brand_code(mcc):
            return _NO_CHAINS  # most foreign (MCC, country) pairs
        rows = np.flatnonzero(ch.mcc == mcc)
    if online:
        keep = ch.online[rows] > 0
        w = ch.weight[rows] * ch.online[rows]
    else:
        keep = ch.online[rows] < 1
        w = ch.weight[rows] * (1.0 - ch.online[rows])
    rows, w = rows[keep], w[keep]
    brand = None
    if _brand_code(mcc) and len(rows) == 0 and not (ch.mcc == mcc).any():
        brand = _brand_name(mcc)
    if len(rows) == 0:
        return _Group(_EMPTY, _EMPTY, _EMPTY, 1.0, 1.0, 0.0, 0.0, brand)
    if online:  # no place, no urban affinity
        q = _quantised_cdf(w)
        return _Group(rows, q, q, 1.0, 1.0, 1.0, 0.0, None)
    lean = 2.0 * ch.urban[rows] - 1.0  # -1 rural/highway .. 1 downtown
    tilt = float((w * lean).sum() / w.sum())
    w0 = w * (1.0 - DRAW_URBAN_TILT * lean)
    w1 = w * (1.0 + DRAW_URBAN_TILT * lean)
    return _Group(
        rows,
        _quantised_cdf(w0),
        _quantised_cdf(w1),
        1.0 - DRAW_URBAN_TILT * tilt,
        1.0 + DRAW_URBAN_TILT * tilt,
        chain_share(mcc),
        tilt,
        None,
    )


def _brand_name(mcc: int) -> str | None:
    from cardworld.data.mcc import is_mcc, mcc_description

    if not is_mcc(mcc):
        return None
    text = mcc_description(mcc)
    for cut in (" (", " -- ", ","):
        text = text.split(cut)[0]
    return text.strip() or None


def _iso_codes(country: np.ndarray, n: int) -> np.ndarray:
    """ISO alpha-2 codes as uint64 (two UCS-4 code points), validated."""
    c = np.asarray(country)
    if c.shape != (n,):
        raise InputError(f"merchant_names: country has shape {c.shape}, expected ({n},)")
    if c.dtype.kind != "U":
        c = c.astype(str)
    if c.dtype.itemsize > 8 and int(np.char.str_len(c).max()) > 2:
        bad = c[np.char.str_len(c) > 2][0]
        raise InputError(f"merchant_names: country {bad!r} is not an ISO 3166 alpha-2 code ('US', 'MX', ...)")
    return np.ascontiguousarray(c.astype("U2")).view(np.uint64)


def merchant_names(
    mcc: np.ndarray,
    h: np.ndarray,
    country: np.ndarray,
    online: np.ndarray,
    urban: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(name, chain) object arrays for merchants. mcc int, h uint64 merchant hash, country ISO alpha-2 per
    merchant ('US' for US cities), online bool, urban optional 0..1 per merchant (city urbanicity; default
    0.5). chain is the chain name or None for independents.

    Deterministic in each merchant's own (mcc, h, country, online, urban): independent of batch and order.
    Uses the shipped chain table (``load_chains()``).
    """
    mcc, h, online, u = _inputs(mcc, h, online, urban)
    n = mcc.shape[0]
    if n == 0:
        return np.empty(0, dtype=object), np.empty(0, dtype=object)
    codes = _iso_codes(country, n)
    ucodes, cinv = np.unique(codes, return_inverse=True)
    ucountry = ucodes.view("U2")
    nc = len(ucodes)
    gkey, ginv = np.unique((mcc * nc + cinv) * 2 + online, return_inverse=True)
    cnames = ucountry.tolist()
    groups = [
        _group(m, cnames[c], o)
        for m, c, o in zip(
            (gkey // (2 * nc)).tolist(), (gkey // 2 % nc).tolist(), (gkey % 2 == 1).tolist(), strict=True
        )
    ]
    ng = len(groups)
    # per group: share, tilt, t0, t1, candidates, branded
    stats = np.array([g.stats for g in groups], dtype=np.float64).reshape(ng, 6)

    # Chain or not.
    share = stats[ginv, 0]
    tilt = stats[ginv, 1]
    p = np.clip(share * (1.0 + SHARE_URBAN_TILT * tilt * (2.0 * u - 1.0)), 0.0, 1.0)
    p[share >= 1.0] = 1.0  # brand codes, airlines, postal: always the chain, wherever
    is_chain = uniform_from_hash(h, _SALT_IS_CHAIN) < p

    name = np.empty(n, dtype=object)
    chain = np.full(n, None, dtype=object)

    ci = np.flatnonzero(is_chain)
    if ci.size:
        picked = _pick_chains(groups, stats, ginv[ci], h[ci], u[ci])
        name[ci] = picked
        chain[ci] = picked

    # Brand codes with no chain row: the network's brand name.
    branded = stats[ginv, 5] > 0
    bi = np.flatnonzero(~is_chain & branded)
    if bi.size:
        name[bi] = np.array([g.brand for g in groups], dtype=object)[ginv[bi]]

    ii = np.flatnonzero(~is_chain & ~branded)
    if ii.size:
        name[ii] = _independent_names(mcc[ii], h[ii], online[ii], codes[ii])
    return name, chain


def _inputs(mcc, h, online, urban) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(mcc int64, h uint64, online bool, urbanicity in 0..1; 0.5 when unknown or online), checked."""
    mcc = np.asarray(mcc)
    n = mcc.shape[0] if mcc.ndim == 1 else -1
    if n < 0:
        raise InputError(f"merchant_names: mcc must be 1-D, got shape {mcc.shape}")
    h = np.asarray(h)
    online = np.asarray(online, dtype=bool)
    if h.shape != (n,) or online.shape != (n,):
        raise InputError(
            "merchant_names: mcc, h and online must have one length; "
            f"got {mcc.shape}, {h.shape}, {online.shape}"
        )
    mcc = mcc.astype(np.int64)
    if n and (mcc.min() < 0 or mcc.max() > 9999):
        raise InputError("merchant_names: MCCs must lie in 0..9999")
    h = h.astype(np.uint64)  # int64 ids wrap to their uint64 hash
    if urban is None:
        u = np.full(n, 0.5)
    else:
        u = np.asarray(urban, dtype=np.float64)
        u = np.clip(np.nan_to_num(np.broadcast_to(u, (n,)), nan=0.5), 0.0, 1.0)
    return mcc, h, online, np.where(online, 0.5, u)


def _pick_chains(
    groups: list[_Group], stats: np.ndarray, gi: np.ndarray, h: np.ndarray, uc: np.ndarray
) -> np.ndarray:
    """Chain names of the chain merchants (group gi, hash h, urbanicity uc): a mixture of the u=0 and u=1
    weightings, one integer inverse-CDF over all groups' tables (group g's offset by g << _PICK_BITS)."""
    ng = len(groups)
    t0 = stats[gi, 2]
    t1 = stats[gi, 3]
    use1 = uniform_from_hash(h, _SALT_COMPONENT) * ((1.0 - uc) * t0 + uc * t1) < uc * t1
    sizes = stats[:, 4].astype(np.int64)
    start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    goff = np.arange(ng, dtype=np.int64) << _PICK_BITS
    rows = np.concatenate([g.rows for g in groups])
    q0 = np.concatenate([g.q0 for g in groups]) + np.repeat(goff, sizes)
    q1 = np.concatenate([g.q1 for g in groups]) + np.repeat(goff, sizes)
    k = (uniform_from_hash(h, _SALT_PICK) * (1 << _PICK_BITS)).astype(np.int64) + goff[gi]
    pos = np.where(use1, np.searchsorted(q1, k, side="right"), np.searchsorted(q0, k, side="right"))
    pos = np.clip(pos, start[gi], start[gi] + sizes[gi] - 1)
    return _chain_names()[rows[pos]]


_US_CODE = np.array(["US"]).view(np.uint64)[0]


def _independent_names(mcc: np.ndarray, h: np.ndarray, online: np.ndarray, codes: np.ndarray) -> np.ndarray:
    suf = _suffixes()
    count = suf.count[mcc]
    si = suf.start[mcc] + np.minimum((uniform_from_hash(h, _SALT_SUFFIX) * count).astype(np.int64), count - 1)
    civic = suf.civic[mcc]
    in_us = codes == _US_CODE

    uf = uniform_from_hash(h, _SALT_FORMAT)
    uw = uniform_from_hash(h, _SALT_WORD)
    # 0 "Miller's X", 1 "Miller X", 2 "<US word> X", 3 "<foreign word> X", 4 "<Prefix>X.com", 5 "MillerX.com"
    fmt = np.select(
        [civic & in_us, civic, online, in_us],
        [
            2,
            3,
            np.where(uf < 0.6, 4, 5),
            np.where(uf < 0.45, 0, np.where(uf < 0.65, 1, 2)),
        ],
        np.where(uf < 0.3, 1, 3),
    )
    words = _words()

    def uniform_item(table: np.ndarray, u: np.ndarray) -> np.ndarray:  # equal weights: floor(u * len)
        return table[np.minimum((u * len(table)).astype(np.int64), len(table) - 1)]

    u_sur = uniform_from_hash(h, _SALT_SURNAME)
    out = np.empty(len(h), dtype=object)
    for code in range(6):
        m = fmt == code
        if not m.any():
            continue
        x = suf.text[si[m]]
        if code == 0:
            out[m] = uniform_item(words.possessive, u_sur[m]) + " " + x
        elif code == 1:
            out[m] = uniform_item(words.surname, u_sur[m]) + " " + x
        elif code == 2:
            out[m] = uniform_item(words.us, uw[m]) + " " + x
        elif code == 3:
            out[m] = uniform_item(words.foreign, uw[m]) + " " + x
        elif code == 4:
            out[m] = uniform_item(words.prefix, uw[m]) + suf.web[si[m]] + ".com"
        else:
            out[m] = uniform_item(words.web_surname, u_sur[m]) + suf.web[si[m]] + ".com"
    return out


__all__ = ["SHARE_DEFAULT", "chain_share", "merchant_names"]
