"""Resume an interrupted run, and the faults after which one can.

A run builds in DIR/.build; its manifest there (status "partial") records each finished shard with the
sha256 of its transactions file and, under "staged", of each of its staging parts. `generate(...,
resume=True)` starts from that folder (prepare_resume): the interrupted run must be this one (same
cardworld version, config, seed and detector fingerprint), every recorded shard whose files all verify is
kept, every other file in DIR/.build goes (partial shards, temp files, unrecorded parts, merged tables),
and only the missing shards run. Shards are pure functions of (config, seed, shard id, detector), so the
result is byte-identical to an uninterrupted run.

A full disk, a worker process that died, or a Dask run that failed keep DIR/.build too (fault_error
says so and how to continue); other errors are not helped by a resume.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cardworld.engine.shard import STAGED, STAGED_TABLES, STAGING, no_space, staged_part
from cardworld.errors import FIX, CardworldError, ConfigError, Fix, InputError
from cardworld.io.dataset import (
    BUILD_DIR,
    MANIFEST,
    SHARD_DIR,
    file_sha256,
    shard_name,
    write_manifest,
)
from cardworld.io.manifest import FORMAT

DROP_RESUME = Fix(python="call generate without resume=True", cli="run without --resume")
START_OVER = Fix(
    python="call generate with overwrite=True instead of resume=True to start over",
    cli="run with --overwrite instead of --resume to start over",
)
SAME_RUN = Fix(
    python="pass the interrupted run's config, seed and detector, or call generate with overwrite=True "
    "instead of resume=True to start over",
    cli="pass the interrupted run's options and config, or run with --overwrite instead of --resume to "
    "start over",
)
REPLACE = Fix(
    python="call generate without resume=True (with overwrite=True to replace it)",
    cli="run without --resume (with --overwrite to replace it)",
)
RESUME_AGAIN = Fix(
    python="call generate again with resume=True to continue",
    cli="run the same command again with --resume to continue",
)
RUN_AGAIN = Fix(python="call generate again", cli="run the same command again")
PICKLE_PROTOCOL = 5  # fixed, so that a detector's fingerprint does not change with Python's default
_SHOWN = 4  # differences listed in a refusal to resume
_ABSENT = object()


class WorkerDied(Exception):
    """Internal: a local worker process died (killed, out of memory); `shards` were running then."""

    def __init__(self, shards: list[int]) -> None:
        super().__init__(shards)
        self.shards = list(shards)


def detector_fingerprint(detector: Any) -> str | None:
    """sha256 of pickle.dumps(detector) (None without a detector, or for one that cannot be pickled)."""
    try:
        return None if detector is None else hashlib.sha256(_pickled(detector)).hexdigest()
    except Exception:
        return None


def _pickled(detector: Any) -> bytes:
    return pickle.dumps(detector, protocol=PICKLE_PROTOCOL)


def prepare_resume(out: str | os.PathLike, manifest: dict[str, Any], detector: Any) -> Path:
    """Check that DIR/.build holds an interrupted run of this one and keep the shards that verify.

    `manifest` is this run's fresh manifest; the kept shard records are put into it and it is written to
    DIR/.build before anything is deleted there, so a crash during the clean-up is resumable too.
    Returns DIR. The dataset in DIR itself is not touched (it is replaced at the commit, as with overwrite).
    """
    out_dir = Path(out)
    staged = read_build_manifest(out_dir)
    if detector is not None:
        try:
            _pickled(detector)
        except Exception as e:
            raise ConfigError(
                f"detector: cannot be pickled ({type(e).__name__}: {e}), so a resume cannot check that it is "
                f"the interrupted run's; use a module-level function or class instance, or {FIX}",
                fix=START_OVER,
            ) from None
    check_same_run(out_dir, staged, manifest)
    build = out_dir / BUILD_DIR
    manifest["shards"] = verified_shards(build, staged["shards"], len(manifest["shard_plan"]))
    write_manifest(build, manifest)
    clean_build(build, manifest["shards"])
    return out_dir


def read_build_manifest(out_dir: Path) -> dict[str, Any]:
    """DIR/.build/manifest.json of an interrupted run; errors say why there is nothing to resume."""
    where, build = str(out_dir), out_dir / BUILD_DIR
    path = build / MANIFEST
    if not out_dir.is_dir():
        raise InputError(f"nothing to resume in {where!r}: no such directory; {FIX}", fix=DROP_RESUME)
    if not path.is_file():
        if build.is_dir():
            raise InputError(
                f"nothing to resume in {where!r}: its build folder {str(build)!r} has no {MANIFEST} (the "
                f"run stopped before it began); {FIX}",
                fix=START_OVER,
            )
        if (out_dir / MANIFEST).is_file():
            raise InputError(
                f"nothing to resume in {where!r}: the dataset there is complete (no interrupted run left a "
                f"build folder {str(build)!r}); {FIX}",
                fix=REPLACE,
            )
        raise InputError(
            f"nothing to resume in {where!r}: it has no {str(path)!r}, which an interrupted run leaves; {FIX}",
            fix=DROP_RESUME,
        )
    if not all(os.access(d, os.W_OK | os.X_OK) for d in (out_dir, build)):
        raise InputError(f"cannot resume in {where!r}: the directory is not writable; make it writable")

    def bad(why: str) -> InputError:
        return InputError(
            f"cannot resume in {where!r}: {str(path)!r} is not the manifest of a cardworld build ({why}); {FIX}",
            fix=START_OVER,
        )

    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise bad(f"not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}") from e
    except (OSError, UnicodeDecodeError) as e:
        raise bad(f"it cannot be read: {e}") from e
    if not isinstance(manifest, dict):
        raise bad(f"it holds a JSON {type(manifest).__name__}, not an object")
    if manifest.get("format") != FORMAT:
        raise bad(f"its format is {manifest.get('format')!r}, not {FORMAT!r}")
    if manifest.get("status") != "partial":
        raise bad(f"its status is {manifest.get('status')!r}, not 'partial'")
    shards = manifest.get("shards")
    if not isinstance(shards, list) or not all(isinstance(s, dict) for s in shards):
        raise bad("its 'shards' is not a list of shard records")
    return manifest


def check_same_run(out_dir: Path, staged: Mapping[str, Any], fresh: Mapping[str, Any]) -> None:
    """Refuse to resume when the interrupted run differs from this one; the message lists how."""
    fresh = json.loads(json.dumps(fresh))  # the types the staged manifest has after its JSON round trip
    config = {k: v for k, v in fresh["config"].items() if k != "seed"}  # the seed is compared once
    old_config = staged.get("config")
    if isinstance(old_config, dict):
        old_config = {k: v for k, v in old_config.items() if k != "seed"}
    old_fraud = staged.get("fraud") if isinstance(staged.get("fraud"), dict) else {}
    diffs = [
        *_diff("cardworld_version", staged.get("cardworld_version", _ABSENT), fresh["cardworld_version"]),
        *_diff("seed", staged.get("seed", _ABSENT), fresh["seed"]),
        *_diff("config", _ABSENT if old_config is None else old_config, config),
        *(
            d
            for key in ("detector", "detector_sha256")
            for d in _diff(f"fraud.{key}", old_fraud.get(key, _ABSENT), fresh["fraud"][key])
        ),
    ]
    if diffs:
        shown = "; ".join(diffs[:_SHOWN])
        more = f" (and {len(diffs) - _SHOWN} more)" if len(diffs) > _SHOWN else ""
        raise InputError(
            f"cannot resume in {str(out_dir)!r}: this run differs from the interrupted one in "
            f"{str(out_dir / BUILD_DIR)!r}: {shown}{more}; {FIX}",
            fix=SAME_RUN,
        )


def _diff(path: str, old: Any, new: Any) -> list[str]:
    """'path: OLD in the interrupted run, NEW now' for each dotted path where the two differ."""
    if isinstance(old, dict) and isinstance(new, dict):
        keys = [*new, *(k for k in old if k not in new)]  # the config's own field order
        return [d for k in keys for d in _diff(f"{path}.{k}", old.get(k, _ABSENT), new.get(k, _ABSENT))]
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [d for i, (a, b) in enumerate(zip(old, new, strict=True)) for d in _diff(f"{path}[{i}]", a, b)]
    if old is not _ABSENT and new is not _ABSENT and type(old) is type(new) and old == new:
        return []
    return [f"{path}: {_show(old)} in the interrupted run, {_show(new)} now"]


def _show(v: Any) -> str:
    if v is _ABSENT:
        return "absent"
    if isinstance(v, str) and len(v) > 24:  # a sha256: its first digits tell it apart
        return repr(v[:12] + "…")
    text = repr(v)
    return text if len(text) <= 40 else text[:39] + "…"


def verified_shards(build: Path, records: list[dict[str, Any]], n_shards: int) -> list[dict[str, Any]]:
    """The shard records whose transactions file and staging parts exist with the recorded sha256."""
    kept: dict[int, dict[str, Any]] = {}
    for rec in records:
        k = rec.get("index")
        if type(k) is not int or not 0 <= k < n_shards or k in kept:
            continue
        if rec.get("file") != f"{SHARD_DIR}/{shard_name(k)}":  # never a path from elsewhere
            continue
        staged = rec.get(STAGED)
        want = {*STAGED_TABLES, "fraudsters"} if k == 0 else set(STAGED_TABLES)
        if not isinstance(staged, dict) or set(staged) != want:
            continue
        if _matches(build / rec["file"], rec.get("sha256"), rec.get("bytes")) and all(
            _matches(staged_part(build / STAGING, name, k), sha) for name, sha in staged.items()
        ):
            kept[k] = rec
    return [kept[k] for k in sorted(kept)]


def _matches(path: Path, sha256: Any, size: Any = None) -> bool:
    if path.is_symlink() or not path.is_file():
        return False
    if size is not None and path.stat().st_size != size:
        return False
    return file_sha256(path) == sha256


def clean_build(build: Path, kept: list[dict[str, Any]]) -> None:
    """Delete every file in DIR/.build but its manifest and the kept shards' files (and empty folders)."""
    staging = build / STAGING
    keep = {build / MANIFEST}
    for rec in kept:
        keep.add(build / rec["file"])
        keep.update(staged_part(staging, name, rec["index"]) for name in rec[STAGED])
    for root, dirs, files in os.walk(build, topdown=False):  # links are not followed
        for name in files:
            if (p := Path(root) / name) not in keep:
                p.unlink()
        for name in dirs:
            p = Path(root) / name
            if p.is_symlink():
                p.unlink()
            elif p not in (build / SHARD_DIR, staging) and not any(p.iterdir()):
                p.rmdir()


def fault_error(
    e: BaseException, out_dir: Path, finished: int, total: int, had_dataset: bool, on_dask: bool = False
) -> CardworldError | None:
    """The error to raise for a fault that DIR/.build survives (a full disk, a dead worker, a failed Dask
    run), saying what is kept and how to continue; None for any other error.

    An error a shard task raises itself (a CardworldError subclass: a bad detector...) would recur on a
    resume, so it is not a fault; on Dask a plain CardworldError is (run_on_dask: workers kept dying).
    """
    build = out_dir / BUILD_DIR
    advice = ""
    if (full := no_space(e)) is not None:
        where = repr(full.filename if isinstance(full.filename, str) else str(build))
        if (shard := getattr(full, "shard", None)) is not None:
            where = f"shard {shard} in {where}"
        py = cli = f"the disk is full (no space left on the device) while writing {where}"
        advice = "free some space, then "
    elif isinstance(e, WorkerDied):
        py = cli = "a worker process died (killed, or out of memory?)"
        if e.shards:
            s = "s" if len(e.shards) > 1 else ""
            py = cli = f"{py} while running shard{s} {', '.join(map(str, e.shards))}"
    elif on_dask and type(e) is CardworldError:  # cluster.run_on_dask: workers kept dying on a shard
        py, cli = str(e), e.for_cli()
    elif on_dask and isinstance(e, Exception) and not isinstance(e, CardworldError):  # the cluster failed
        py = cli = f"the Dask run failed ({type(e).__name__}: {e})"
    else:
        return None
    state = (
        f"the dataset in {str(out_dir)!r} is unchanged"
        if had_dataset
        else f"no dataset was written to {str(out_dir)!r}"
    )
    state += (
        f"; {finished} of {total} shards had finished and are kept in {str(build)!r}"
        if finished
        else "; no shard had finished"
    )
    fix = RESUME_AGAIN if finished else RUN_AGAIN
    if py == cli:
        return InputError(f"{py}; {state}; {advice}{FIX}", fix=fix)
    return InputError(
        FIX, fix=Fix(python=f"{py}; {state}; {advice}{fix.python}", cli=f"{cli}; {state}; {advice}{fix.cli}")
    )


__all__ = [
    "WorkerDied",
    "check_same_run",
    "clean_build",
    "detector_fingerprint",
    "fault_error",
    "prepare_resume",
    "read_build_manifest",
    "verified_shards",
]
