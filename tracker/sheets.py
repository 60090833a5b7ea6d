"""Tables of decisions as files: CSV and XLSX read into rows of text cells, and written back.

One format both ways (the columns of `COLUMNS`, a header row first), so that an exported table,
edited in a spreadsheet, imports again with exactly the changes made to it. Cells are text here;
what they mean is the import's business (tracker/importing.py). Formula cells are refused (an
XLSX formula, or a CSV cell starting with `=`): the tracker records values, not what a formula
computed on someone's machine. A text that would read as a formula when the file is opened
(starting with `=`, `+`, `-` or `@`) is written with a leading `'`, which reading removes again.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from domain.errors import N_, InvalidRows

COLUMNS = ("ref", "title", "description", "required_parties", "responsible_party", "due_date",
           "progress", "public")
REQUIRED_COLUMNS = ("ref", "title")
MAX_ROWS = 5000
FORMULA_START = ("=",)
ESCAPED_START = ("=", "+", "-", "@", "\t", "\r")
XLSX_MAGIC = b"PK\x03\x04"
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Row:
    """A row of the table: its number in the file (the header is row 1) and its cells."""

    number: int
    cells: Mapping[str, str]


def problem(row: int, column: str | None, message: str) -> dict[str, Any]:
    return {"row": row, "column": column, "message": message}


def kind_of(data: bytes, content_type: str | None = None, filename: str | None = None) -> str:
    """"xlsx" or "csv": from the bytes themselves (an XLSX file is a zip), else the names."""
    if data.startswith(XLSX_MAGIC):
        return "xlsx"
    named = f"{content_type or ''} {filename or ''}".lower()
    if "spreadsheetml" in named or named.rstrip().endswith(".xlsx"):
        raise InvalidRows([problem(1, None, N_("this file is not a readable XLSX workbook"))])
    return "csv"


def read_table(data: bytes, content_type: str | None = None,
               filename: str | None = None) -> list[Row]:
    """The rows of a CSV or XLSX table (blank rows left out), formula cells as `Formula` (the
    import refuses them, with the other problems of the row); InvalidRows for a file, a header
    or rows that cannot be read, every problem named by row and column."""
    if kind_of(data, content_type, filename) == "xlsx":
        header, raw = _xlsx_rows(data)
    else:
        header, raw = _csv_rows(data)
    columns = _columns(header)
    problems: list[dict[str, Any]] = []
    rows: list[Row] = []
    for number, values in raw:
        cells: dict[str, str] = {}
        for index, name in enumerate(columns):
            cells[name] = values[index] if index < len(values) else ""  # (a Formula: refused)
        extra = [v for v in values[len(columns):] if v not in ("", None)]
        if extra:
            problems.append(problem(number, None, f"this row has {len(extra)} cell(s) more "
                                                  "than the header has columns"))
        if any(cells.values()) or extra:
            rows.append(Row(number, cells))
    if len(rows) > MAX_ROWS:
        problems.append(problem(rows[MAX_ROWS].number, None,
                                f"a table has at most {MAX_ROWS} rows; split it"))
    if problems:
        raise InvalidRows(problems)
    return rows


class Formula(str):
    """A cell that holds a formula (refused)."""

    __slots__ = ()

    REFUSED = N_("formula cells are refused; type the value itself")


def _columns(header: Sequence[str]) -> list[str]:
    problems = []
    columns = [str(h or "").strip().lower() for h in header]
    for index, name in enumerate(columns):
        if name and name not in COLUMNS:
            problems.append(problem(1, name, f"unknown column; the columns are "
                                             f"{', '.join(COLUMNS)}"))
        elif name and name in columns[:index]:
            problems.append(problem(1, name, N_("this column appears twice")))
    for name in REQUIRED_COLUMNS:
        if name not in columns:
            problems.append(problem(1, name, N_("this column is missing from the header row")))
    if problems:
        raise InvalidRows(problems)
    return columns


def unescape(text: str) -> str | Formula:
    text = text.strip(" \n")
    if text.startswith("'") and needs_escape(text[1:]):
        return text[1:]
    text = text.strip()
    if text.startswith(FORMULA_START):
        return Formula(text)
    return text


def _csv_rows(data: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidRows([problem(1, None, N_("a CSV file must be UTF-8 text"))]) from None
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)  # as spreadsheets save it, by locale
    try:
        lines = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as error:
        raise InvalidRows([problem(1, None, f"this CSV file cannot be read: {error}")]) from None
    if not lines:
        raise InvalidRows([problem(1, None, "the file is empty; the first row names the "
                                            "columns")])
    return lines[0], [(n, [unescape(v) for v in line])
                      for n, line in enumerate(lines[1:], start=2)]


def _xlsx_cell(cell: Any) -> str | Formula:
    value = cell.value
    if cell.data_type == "f" or (isinstance(value, str) and value.startswith("=")
                                 and cell.data_type != "s"):
        return Formula(str(value))
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() \
            else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return unescape(str(value))


def _xlsx_rows(data: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    from openpyxl import load_workbook  # (only when a workbook comes)

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        try:
            header: list[str] | None = None
            rows: list[tuple[int, list[str]]] = []
            for number, cells in enumerate(workbook.worksheets[0].iter_rows(), start=1):
                if number > MAX_ROWS + 2:
                    rows.append((number, ["(more)"]))
                    break
                values = [_xlsx_cell(c) for c in cells]
                if header is None:
                    header = [str(v) for v in values]
                else:
                    rows.append((number, values))
        finally:
            workbook.close()
    except Exception:  # noqa: BLE001 (whatever a damaged or hostile workbook raises: unreadable)
        raise InvalidRows([problem(1, None, N_("this file is not a readable XLSX workbook"))]) \
            from None
    if header is None:
        raise InvalidRows([problem(1, None, "the workbook is empty; the first row names the "
                                            "columns")])
    while header and not header[-1]:
        header.pop()
    return header, rows


# --- writing -----------------------------------------------------------------------------------

def needs_escape(text: str) -> bool:
    """Text a spreadsheet would run as a formula, or that reads as such text escaped."""
    return text.startswith(ESCAPED_START) or (text.startswith("'") and needs_escape(text[1:]))


def escape(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula, with a leading `'` (which reading drops)."""
    if isinstance(value, str) and needs_escape(value):
        return "'" + value
    return value


def write_table(rows: Iterable[Mapping[str, Any]], kind: str) -> bytes:
    """The rows (values by column: text, numbers, dates, booleans, None) as a CSV or XLSX file
    in the import's format."""
    if kind == "xlsx":
        return _write_xlsx(rows)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_text(escape(row.get(name))) for name in COLUMNS])
    return out.getvalue().encode("utf-8")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _write_xlsx(rows: Iterable[Mapping[str, Any]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "decisions"
    sheet.append(list(COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for number, row in enumerate(rows, start=2):
        for index, name in enumerate(COLUMNS, start=1):
            value = row.get(name)
            if isinstance(value, bool):
                value = "true" if value else "false"
            cell = sheet.cell(row=number, column=index, value=escape(value))
            if isinstance(value, date):
                cell.number_format = "yyyy-mm-dd"
    for index, width in enumerate((12, 40, 50, 30, 24, 12, 10, 8), start=1):
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = width
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
