"""The benchmark's target suites: the seed's 1-target example and the 20-target suite (22 outputs)."""

from __future__ import annotations

from cardworld.targets.spec import TargetSpec


def _t(name: str, agg: str, mcc: list[int] | None, window: str, mode: str, **kw) -> TargetSpec:
    return TargetSpec(name=name, agg=agg, mcc=mcc, window=window, mode=mode, **kw)  # type: ignore[arg-type]


SUITE_1 = [_t("grocery_day_cumsum", "sum", [5411], "day", "expanding")]

SUITE_20 = [
    _t("t01_sum_grocery_day_exp", "sum", [5411], "day", "expanding"),
    _t("t02_mean_drug_week_full", "mean", [5912], "week", "full"),
    _t("t03_max_grocery_month_full", "max", [5411], "month", "full"),
    _t("t04_min_realestate_month_full", "min", [6513], "month", "full"),
    _t("t05_count_day_exp", "count", None, "day", "expanding"),
    _t("t06_sum_week_exp", "sum", None, "week", "expanding"),
    _t("t07_mean_restaurant_month_exp", "mean", [5812, 5814], "month", "expanding"),
    _t("t08_top3_month_full", "top_k", None, "month", "full", k=3),
    _t("t09_sum_fuel_7d_trail", "sum", [5541, 5542], "7d", "trailing"),
    _t("t10_count_restaurant_30d_trail", "count", [5812, 5814], "30d", "trailing"),
    _t("t11_max_30d_trail", "max", None, "30d", "trailing"),
    _t("t12_mean_7d_trail", "mean", None, "7d", "trailing"),
    _t("t13_sum_grocery_30d_lead", "sum", [5411], "30d", "leading"),
    _t("t14_count_7d_lead", "count", None, "7d", "leading"),
    _t("t15_max_travel_90d_lead", "max", [4511, 7011], "90d", "leading"),
    _t("t16_sum_month_next", "sum", None, "month", "next"),
    _t("t17_count_grocery_week_next", "count", [5411], "week", "next"),
    _t("t18_min_day_full", "min", None, "day", "full"),
    _t("t19_sum_wholesale_year_exp", "sum", [5300, 5310, 5311], "year", "expanding"),
    _t("t20_mean_grocery_12h_trail", "mean", [5411], "12h", "trailing"),
]

SUITES = {1: SUITE_1, 20: SUITE_20}
