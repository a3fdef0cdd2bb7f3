"""CSV import without I/O: decode, map headers, validate and normalise each row, dedupe.

Every problem is reported per row (line number, column, message); the service decides whether a file
with errors is rejected whole (default) or its valid rows are imported.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any

from email_validator import EmailNotValidError, validate_email
from parley_contracts import TimeWindow
from pydantic import ValidationError

from .rules import InvalidPhone, InvalidTimezone, normalize_phone, settle_timezone, validate_timezone

MAX_ROWS = 100_000

# Canonical field -> header spellings seen in CRM exports (compared lower-case, punctuation-free).
HEADER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": ("name", "fullname", "leadname", "customername", "contactname", "prospect"),
    "first_name": ("firstname", "givenname", "first"),
    "last_name": ("lastname", "surname", "familyname", "last"),
    "phone": ("phone", "phonenumber", "mobile", "mobilenumber", "cell", "telephone", "tel", "contactnumber"),
    "email": ("email", "emailaddress", "mail", "e-mail"),
    "location": ("location", "city", "address", "region", "state"),
    "age": ("age",),
    "income_band": ("incomeband", "income", "incomerange", "annualincome"),
    "notes": ("notes", "note", "comments", "remarks"),
    "source": ("source", "leadsource", "channel", "campaign"),
    "timezone": ("timezone", "tz", "timezonename"),
    "preferred_days": ("preferreddays", "days", "calldays"),
    "preferred_start": ("preferredstart", "calltimestart", "windowstart", "starttime", "from"),
    "preferred_end": ("preferredend", "calltimeend", "windowend", "endtime", "to"),
    "dnd": ("dnd", "donotcall", "donotdisturb"),
    "email_opt_out": ("emailoptout", "optout", "unsubscribed"),
    "call_recording": ("callrecording", "recordingconsent", "recordingallowed"),
}
KNOWN_FIELDS = set(HEADER_SYNONYMS)
_DAY_NAMES = {
    "MON": "MON",
    "TUE": "TUE",
    "WED": "WED",
    "THU": "THU",
    "FRI": "FRI",
    "SAT": "SAT",
    "SUN": "SUN",
}
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f", ""}


class CsvFileError(ValueError):
    """The file as a whole is unusable (encoding, no header, no phone column, too many rows)."""


@dataclass(frozen=True)
class RowError:
    line: int
    column: str | None
    message: str


@dataclass
class ParsedLead:
    line: int
    fields: dict[str, Any]


@dataclass
class ParseResult:
    leads: list[ParsedLead] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    duplicates: list[RowError] = field(default_factory=list)
    header_mapping: dict[str, str] = field(default_factory=dict)
    total_rows: int = 0


def _normalise_header(header: str) -> str:
    return re.sub(r"[^a-z0-9-]", "", header.strip().lower()).replace("-", "")


def decode(data: bytes, encoding: str = "utf-8") -> str:
    try:
        text = data.decode("utf-8-sig" if encoding.lower().replace("_", "-") == "utf-8" else encoding)
    except UnicodeDecodeError as exc:
        raise CsvFileError(
            f"the file is not valid {encoding} (byte {exc.start}); save it as UTF-8 or pass ?encoding=latin-1"
        ) from exc
    except LookupError as exc:
        raise CsvFileError(f"unknown encoding {encoding!r}") from exc
    if "\x00" in text:
        raise CsvFileError("the file contains NUL bytes; it is not a text CSV")
    return text


def map_headers(headers: list[str], explicit: dict[str, str] | None = None) -> dict[str, str]:
    """Return {csv header -> lead field}. `explicit` ({csv header: field}) wins over synonyms."""
    mapping: dict[str, str] = {}
    explicit = explicit or {}
    unknown = {target for target in explicit.values() if target not in KNOWN_FIELDS}
    if unknown:
        raise CsvFileError(
            f"mapping targets unknown fields: {sorted(unknown)}; known: {sorted(KNOWN_FIELDS)}"
        )
    lookup = {syn.replace("-", ""): target for target, syns in HEADER_SYNONYMS.items() for syn in syns}
    for header in headers:
        if header in explicit:
            mapping[header] = explicit[header]
        elif (target := lookup.get(_normalise_header(header))) and target not in mapping.values():
            mapping[header] = target
    return mapping


def _parse_bool(value: str, column: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"{column}: expected yes/no, got {value!r}")


def _parse_window(days: str, start: str, end: str) -> list[dict[str, Any]]:
    if not (days or start or end):
        return []
    day_list = [d.strip().upper()[:3] for d in re.split(r"[;,| ]+", days) if d.strip()] or list(_DAY_NAMES)
    bad = [d for d in day_list if d not in _DAY_NAMES]
    if bad:
        raise ValueError(f"preferred_days: unknown day(s) {bad}")
    window = TimeWindow.model_validate({"days": day_list, "start": start.strip(), "end": end.strip()})
    return [window.model_dump()]


def parse_csv(
    data: bytes,
    *,
    encoding: str = "utf-8",
    explicit_mapping: dict[str, str] | None = None,
    default_region: str | None = None,
    default_timezone: str | None = None,
    existing_phones: set[str] | None = None,
    existing_emails: set[str] | None = None,
) -> ParseResult:
    text = decode(data, encoding)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        headers = next(reader)
    except StopIteration as exc:
        raise CsvFileError("the file is empty") from exc
    except csv.Error as exc:
        raise CsvFileError(f"the header row is not valid CSV: {exc}") from exc
    headers = [h.strip() for h in headers]
    mapping = map_headers(headers, explicit_mapping)
    fields = set(mapping.values())
    if "phone" not in fields:
        raise CsvFileError(
            f'no phone column found in {headers}; map one with mapping={{"<header>": "phone"}}'
        )
    if "name" not in fields and not {"first_name", "last_name"} & fields:
        raise CsvFileError(f"no name column found in {headers}")

    result = ParseResult(header_mapping=mapping)
    seen_phones = set(existing_phones or ())
    seen_emails = {e.lower() for e in existing_emails or ()}
    index = {target: headers.index(header) for header, target in mapping.items()}
    line = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            line += 1
            result.errors.append(RowError(line, None, f"malformed CSV: {exc}"))
            continue
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        result.total_rows += 1
        if result.total_rows > MAX_ROWS:
            raise CsvFileError(f"the file has more than {MAX_ROWS} rows; split it")
        if len(row) != len(headers):
            result.errors.append(RowError(line, None, f"expected {len(headers)} columns, found {len(row)}"))
            continue

        def cell(target: str, row: list[str] = row) -> str:
            return row[index[target]].strip() if target in index else ""

        lead, errors = _parse_row(line, cell, default_region, default_timezone)
        if errors:
            result.errors.extend(errors)
            continue
        phone, email = lead["phone"], lead.get("email")
        if phone in seen_phones:
            result.duplicates.append(RowError(line, "phone", f"duplicate phone {phone}"))
            continue
        if email and email in seen_emails:
            result.duplicates.append(RowError(line, "email", f"duplicate email {email}"))
            continue
        seen_phones.add(phone)
        if email:
            seen_emails.add(email)
        result.leads.append(ParsedLead(line, lead))
    return result


def _parse_row(
    line: int, cell: Any, default_region: str | None, default_timezone: str | None
) -> tuple[dict[str, Any], list[RowError]]:
    errors: list[RowError] = []
    lead: dict[str, Any] = {}
    name = cell("name") or " ".join(p for p in (cell("first_name"), cell("last_name")) if p)
    if not name:
        errors.append(RowError(line, "name", "name is required"))
    elif len(name) > 200:
        errors.append(RowError(line, "name", "name is longer than 200 characters"))
    lead["name"] = name
    try:
        lead["phone"] = normalize_phone(cell("phone"), default_region)
    except InvalidPhone as exc:
        errors.append(RowError(line, "phone", str(exc)))
    if email := cell("email"):
        try:
            lead["email"] = validate_email(email, check_deliverability=False).normalized.lower()
        except EmailNotValidError as exc:
            errors.append(RowError(line, "email", f"{email!r}: {exc}"))
    if age := cell("age"):
        if age.isdigit() and 0 < int(age) < 121:
            lead["age"] = int(age)
        else:
            errors.append(RowError(line, "age", f"age must be a whole number 1-120, got {age!r}"))
    given: str | None = None
    try:
        given = validate_timezone(cell("timezone")) if cell("timezone") else None
    except InvalidTimezone as exc:
        errors.append(RowError(line, "timezone", str(exc)))
    try:
        lead["preferred_time_windows"] = _parse_window(
            cell("preferred_days"), cell("preferred_start"), cell("preferred_end")
        )
    except (ValueError, ValidationError) as exc:
        message = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        errors.append(RowError(line, "preferred_time_windows", f"invalid window: {message}"))
    consent: dict[str, bool] = {}
    for flag in ("dnd", "email_opt_out", "call_recording"):
        try:
            consent[flag] = _parse_bool(cell(flag), flag)
        except ValueError as exc:
            errors.append(RowError(line, flag, str(exc)))
    lead["consent_flags"] = consent
    for text_field, limit in (("location", 200), ("income_band", 50), ("notes", 4000), ("source", 100)):
        if value := cell(text_field):
            if len(value) > limit:
                errors.append(RowError(line, text_field, f"longer than {limit} characters"))
            lead[text_field] = value
    if "phone" in lead and not errors:
        # No timezone column: the phone number (then the location) says where the person is; the
        # importer's default only covers numbers that map to no zone.
        lead.update(
            settle_timezone(
                phone=lead["phone"], given=given, location=lead.get("location"), fallback=default_timezone
            )
        )
    return lead, errors
