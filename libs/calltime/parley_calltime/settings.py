"""The operator's calling-hours settings, read the same way by every service that dials.

Environment (pydantic-settings, no prefix):
- `CALLING_HOURS_START`, `CALLING_HOURS_END`, `CALLING_DAYS`: the default row, for countries with no
  row of their own (08:00-21:00 every day);
- `CALLING_RULES`: JSON rows by country, over the built-in ones, e.g.
  `{"FR": {"hours": {"MON-FRI": ["10:00-13:00", "14:00-20:00"]}, "closed_on_public_holidays": true,
  "closed_dates": ["2026-12-24"]}}`; days not named are closed;
- `CALLING_RULES_BUILTIN=false` drops the built-in country rows (then only yours and the default apply).
"""

from __future__ import annotations

from datetime import date

from parley_contracts.leads import Weekday
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .legal import BUILTIN_COUNTRY_HOURS, WEEKDAYS, CallingRules, InvalidCallingRules, LegalHours


class CountryHours(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hours: dict[str, list[str]] = Field(description='{"MON-FRI": ["09:00-20:00"]}; days not named are closed')
    closed_on_public_holidays: bool = False
    closed_dates: list[date] = Field(default_factory=list, max_length=400)

    def legal_hours(self) -> LegalHours:
        return LegalHours.parse(
            self.hours,
            closed_on_public_holidays=self.closed_on_public_holidays,
            closed_dates=self.closed_dates,
        )


class CallingRulesSettings(BaseModel):
    """Mixed into a service's settings (a pydantic-settings class), so the env names are shared."""

    calling_hours_start: str = "08:00"
    calling_hours_end: str = "21:00"
    calling_days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS), min_length=1)
    calling_rules: dict[str, CountryHours] = Field(default_factory=dict)
    calling_rules_builtin: bool = True

    @field_validator("calling_rules")
    @classmethod
    def _country_codes(cls, rules: dict[str, CountryHours]) -> dict[str, CountryHours]:
        for code in rules:
            if len(code) != 2 or not code.isalpha() or not code.isupper():
                raise ValueError(f"CALLING_RULES: {code!r} is not an ISO 3166 country code like 'US'")
        return rules

    @model_validator(mode="after")
    def _readable(self) -> CallingRulesSettings:
        try:
            self.calling_rules_table()
        except InvalidCallingRules as exc:
            raise ValueError(f"calling hours: {exc}") from exc
        return self

    def calling_rules_table(self) -> CallingRules:
        rows = dict(BUILTIN_COUNTRY_HOURS) if self.calling_rules_builtin else {}
        rows.update({code: row.legal_hours() for code, row in self.calling_rules.items()})
        return CallingRules(
            default=LegalHours.daily(self.calling_hours_start, self.calling_hours_end, self.calling_days),
            countries=tuple(sorted(rows.items())),
        )
