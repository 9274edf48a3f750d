"""Synthetic targets: specs, a compiled plan, fused numba kernels, and a naive reference.

from cardworld.targets import TargetSpec, load_target_specs, output_names, compute_targets
specs = [TargetSpec(agg="sum", mcc=[5411], window="day", mode="expanding")]
y = compute_targets(specs, time=t, amount=a, mcc=m)   # float32 (n, len(output_names(specs)))
"""

from cardworld.targets.compute import compute_targets, compute_targets_batch, period_end_mask
from cardworld.targets.plan import TargetPlan, compile_plan
from cardworld.targets.spec import (
    MixedTarget,
    TargetSpec,
    load_target_specs,
    output_names,
    parse_target_specs,
)

__all__ = [
    "MixedTarget",
    "TargetPlan",
    "TargetSpec",
    "compile_plan",
    "compute_targets",
    "compute_targets_batch",
    "load_target_specs",
    "output_names",
    "parse_target_specs",
    "period_end_mask",
]
