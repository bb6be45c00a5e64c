"""Monthly statements of the ledger: every charge line of a tenant in a calendar month
(UTC), with totals per currency, as a record (JSON) or as CSV.

Amounts are integers in the currency's minor units, in both forms: a statement never
rounds, and it sums exactly.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from datetime import UTC, datetime

import msgspec

from .store import Charge

__all__ = ["Statement", "StatementTotal", "month_bounds"]

_MONTH = re.compile(r"(\d{4})-(\d{2})")
CSV_COLUMNS = (
    "charge_id",
    "charged_at",
    "kind",
    "number",
    "lease_id",
    "term",
    "unit_price",
    "amount",
    "currency",
    "period_start",
    "period_end",
)
"""The columns of a statement's CSV, one row per charge line, then one ``total`` row per
currency."""


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The first moment of ``month`` (``YYYY-MM``) and of the month after, UTC; a
    :class:`ValueError` for anything else."""
    match = _MONTH.fullmatch(month)
    if match is None or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1970:
        raise ValueError("a month is YYYY-MM (2025-03)")
    year, number = int(match[1]), int(match[2])
    start = datetime(year, number, 1, tzinfo=UTC)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return start, end


class StatementTotal(msgspec.Struct, frozen=True, kw_only=True):
    """What a statement's lines in one currency add up to."""

    currency: str
    amount: int
    lines: int


class Statement(msgspec.Struct, frozen=True, kw_only=True):
    """A tenant's charge lines charged in one month, oldest first, and their totals."""

    tenant: str
    month: str
    start: datetime
    end: datetime
    lines: list[Charge]
    totals: list[StatementTotal]

    @classmethod
    def of(cls, tenant: str, month: str, lines: Sequence[Charge]) -> Statement:
        start, end = month_bounds(month)
        sums: dict[str, tuple[int, int]] = {}
        for line in lines:
            amount, count = sums.get(line.currency, (0, 0))
            sums[line.currency] = (amount + line.amount, count + 1)
        totals = [
            StatementTotal(currency=currency, amount=amount, lines=count)
            for currency, (amount, count) in sorted(sums.items())
        ]
        return cls(
            tenant=tenant, month=month, start=start, end=end, lines=list(lines), totals=totals
        )

    def csv(self) -> str:
        """The statement as CSV (RFC 4180: a header row, CRLF line ends)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        for line in self.lines:
            writer.writerow(
                (
                    line.id,
                    line.charged_at.isoformat(),
                    line.kind,
                    line.number,
                    line.lease_id,
                    f"{line.term.count} {line.term.unit}",
                    line.unit_price,
                    line.amount,
                    line.currency,
                    line.period_start.isoformat(),
                    line.period_end.isoformat(),
                )
            )
        for total in self.totals:
            writer.writerow(("", "", "total", "", "", "", "", total.amount, total.currency, "", ""))
        return out.getvalue()
