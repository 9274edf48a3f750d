"""A short summary of a dataset directory: what `make run` prints after generating a world."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.compute as pc

from cardworld.codes import USE_CHIP
from cardworld.data.mcc import mcc_description
from cardworld.engine.run import dataset_config
from cardworld.errors import ConfigError
from cardworld.io.dataset import MANIFEST, read_dataset_transactions, read_manifest, read_table

#: The first key of a summary of a what-if world; its value says why the world is not representative.
NOT_REPRESENTATIVE = "not representative"


def what_ifs(dataset: str | os.PathLike) -> list[str]:
    """Why a dataset does not represent the default world, from its manifest (empty when it does, or when
    the directory has no manifest to tell)."""
    if not (Path(dataset) / MANIFEST).is_file():
        return []
    manifest = read_manifest(dataset)
    try:
        reasons = dataset_config(dataset).what_ifs()
    except ConfigError:  # a manifest of another version: trust its flag
        reasons = []
    detector = (manifest.get("fraud") or {}).get("detector")
    if detector is not None:
        reasons.append(f"fraud detector in the loop ({detector}): fraud after its flags never happened")
    if not reasons and manifest.get("representative") is False:
        reasons.append("the manifest says representative: false")
    return reasons


def summarize(dataset: str | os.PathLike, top: int = 5) -> dict[str, str]:
    """Label -> formatted value, in display order; a what-if world starts with NOT_REPRESENTATIVE."""
    reasons = what_ifs(dataset)
    tx = read_dataset_transactions(dataset)
    n = tx.num_rows
    consumers = read_table(dataset, "consumers").num_rows
    cards = read_table(dataset, "cards")
    n_cards = len(
        {(u, c) for u, c in zip(cards["user_id"].to_pylist(), cards["card_index"].to_pylist(), strict=True)}
    )
    cash = read_table(dataset, "cash").num_rows
    out = {NOT_REPRESENTATIVE: "; ".join(reasons)} if reasons else {}
    out |= {
        "transactions": f"{n:,}",
        "consumers": f"{consumers:,}",
        "cards (card indexes)": f"{n_cards:,}",
        "cash purchases (cash.parquet)": f"{cash:,}",
    }
    if n == 0:
        return out
    t = tx["timestamp"]
    out["first / last"] = f"{pc.min(t).as_py():%Y-%m-%d} / {pc.max(t).as_py():%Y-%m-%d}"
    chip = Counter(tx["use_chip"].to_pylist())
    for k in USE_CHIP:
        out[k] = f"{100 * chip.get(k, 0) / n:.1f}%"
    amount = tx["amount"].to_numpy()
    out["amount mean / median"] = f"${amount.mean():.2f} / ${np.median(amount):.2f}"
    out["refunds"] = f"{100 * (amount < 0).mean():.1f}%"
    out["rows with errors"] = f"{100 * (1 - tx['errors'].null_count / n):.2f}%"
    fraud = int(pc.sum(tx["is_fraud"]).as_py() or 0)
    out["fraud rate"] = f"{100 * fraud / n:.3f}%"
    codes, counts = np.unique(tx["mcc"].to_numpy(), return_counts=True)
    for i in np.argsort(-counts, kind="stable")[:top]:
        out[f"MCC {codes[i]} {mcc_description(int(codes[i]))[:32]}"] = f"{100 * counts[i] / n:.1f}%"
    return out


__all__ = ["NOT_REPRESENTATIVE", "summarize", "what_ifs"]
