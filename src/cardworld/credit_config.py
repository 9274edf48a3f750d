"""The credit cycle's parameters: statements, payments, life events that cause distress, what-ifs.

Defaults: minimum payment and late fee as US issuers set them; APRs by score band in line with the Federal
Reserve's G.19 average rate on accounts assessed interest (about 13-17% over 1995-2019) and the CFPB's report
that subprime rates run several points above prime ones; life-event rates scaled to public rates (see each
field), then the whole calibrated so the charge-off and 30+ DPD rates of a TabFormer-scale world fall in the
published bands (cardworld.data.economy has the figures and their sources).
"""

from __future__ import annotations

from pydantic import Field, field_validator

from cardworld.config_types import NonNeg, PosFloat, Prob, Strict


class Credit(Strict):
    """Credit accounts get monthly statements; payments follow each account's habit until a life event
    (job loss, medical bills, divorce, retirement) puts the holder in distress: spending shifts first, then
    payments slip, and an account 180 days past due is charged off."""

    enabled: bool = Field(True, description="simulate the credit cycle (statements, delinquency, charge-off)")
    apr_by_fico: dict[int, NonNeg] = Field(
        {300: 25.9, 580: 24.4, 620: 22.4, 660: 19.4, 720: 16.4, 780: 13.9},
        min_length=1,
        description="lowest FICO score of each band -> APR in percent (CFPB score tiers, as underwriting's); "
        "scores below the lowest band take its APR",
    )
    minimum_floor: NonNeg = Field(25.0, description="minimum payment floor in dollars")
    minimum_share: float = Field(
        0.03,
        gt=0.0,
        le=1.0,
        description="minimum payment as a share of the balance, in (0, 1] (US issuers: about 1% plus the "
        "month's interest); the minimum due is the larger of this and the floor, plus anything past due",
    )
    late_fee: NonNeg = Field(30.0, description="fee in dollars when a minimum is not paid by the due date")
    due_days: int = Field(25, ge=1, le=27, description="days from the statement date to the due date")
    job_loss_per_year: Prob = Field(
        0.052,
        description="P(a worker loses their job in a year) at the long-run unemployment rate, scaled by the "
        "year's rate (BLS CPS, cardworld.data.economy); layoffs run about 1.3% of jobs a month (BLS JOLTS), "
        "most followed by a new job within weeks, so this counts the spells that strain a budget",
    )
    unemployment_months: PosFloat = Field(
        4.5,
        description="mean months out of work at the long-run rate, scaled by the year's rate (BLS mean "
        "duration: about 4-5 months in normal years, 8-9 months in 2010-2011)",
    )
    medical_per_year: Prob = Field(
        0.01, description="P(large medical bills in a year), twice that from 65 on"
    )
    divorce_per_year: Prob = Field(0.0065, description="P(a divorce in a year), ages 25-64")
    retirement_distress: Prob = Field(
        0.12, description="P(the income drop at retirement strains the budget for a year)"
    )
    unemployment: dict[int, float] | None = Field(
        None,
        description="what-if: unemployment rate (percent) by year, replacing the BLS series in those years "
        "(a recession: {2015: 9.5, 2016: 10.0}); years must lie within the world's start..end",
    )
    default_multiplier: float = Field(
        1.0,
        ge=1.0,
        description="what-if: multiply every life-event rate, to over-sample defaults; rates are then not "
        "realistic (the manifest says representative: false)",
    )

    @field_validator("unemployment")
    @classmethod
    def _rates(cls, v: dict[int, float] | None) -> dict[int, float] | None:
        for year, rate in (v or {}).items():
            if not 0.0 <= rate <= 50.0:
                raise ValueError(f"the rate for {year} is {rate}; give percent in 0..50, like 9.5")
        return v

    def check_years(self, first: int, last: int) -> None:
        """ValueError when the unemployment what-if names a year outside the world's first..last year."""
        bad = sorted(y for y in (self.unemployment or {}) if not first <= y <= last)
        if bad:
            raise ValueError(
                f"credit.unemployment: year(s) {', '.join(map(str, bad))} lie outside the world's years "
                f"{first}..{last}; give rates for years within start..end"
            )

    def what_ifs(self) -> list[str]:
        out = []
        if not self.enabled:
            out.append("credit cycle disabled")
        if self.unemployment:
            out.append(f"unemployment path overridden ({', '.join(map(str, sorted(self.unemployment)))})")
        if self.default_multiplier != 1.0:
            out.append(f"defaults oversampled x{self.default_multiplier:g}")
        return out


__all__ = ["Credit"]
