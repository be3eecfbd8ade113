"""A table as an Excel workbook (.xlsx), written with the standard library.

CSV leaves the separator, the decimal mark and the encoding to the reader's locale: Excel with German
settings reads a comma-separated UTF-8 file into one column with broken umlauts. A workbook fixes all
three. One sheet, the header row bold and frozen, text as inline strings (never run as a formula),
numbers as numbers, dates and times as Excel dates (shown in the reader's date format, sortable).
"""
from __future__ import annotations

import datetime as dt
import io
import math
import numbers
import re
import zipfile
from collections.abc import Iterable, Sequence
from xml.sax.saxutils import escape

MIME_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_CELL_CHARS = 32767   # Excel's limit; a longer text would make it refuse the whole file
MAX_WIDTH = 60
# Characters XML 1.0 cannot carry at all (not even escaped).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

_CONTENT_TYPES = _XML + (
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '</Types>')
_ROOT_RELS = _XML + (
    f'<Relationships xmlns="{_PKG_REL}">'
    f'<Relationship Id="rId1" Type="{_DOC}officeDocument" Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK_RELS = _XML + (
    f'<Relationships xmlns="{_PKG_REL}">'
    f'<Relationship Id="rId1" Type="{_DOC}worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_DOC}styles" Target="styles.xml"/></Relationships>')
# Style 0: plain; style 1: bold (the header row); 2: a date, 3: a date and time (Excel's built-in formats 14
# and 22, which it shows in the reader's own date format).
DATE_STYLE, TIME_STYLE = 2, 3
_EPOCH = dt.datetime(1899, 12, 30)   # Excel's day 0 (its day 60, 1900-02-29, lies before every date here)
_STYLES = _XML + (
    f'<styleSheet xmlns="{_MAIN}">'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="22" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    '</styleSheet>')


def column_name(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def _text(value: object) -> str:
    return _NOT_XML.sub("", str(value))[:MAX_CELL_CHARS]


def _cell(ref: str, value: object, style: int) -> str:
    s = f' s="{style}"' if style else ""
    if value is None or value == "":
        return ""
    if isinstance(value, dt.datetime):   # in UTC, as the service's times are
        naive = value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value
        days = (naive - _EPOCH).total_seconds() / 86400
        return f'<c r="{ref}" s="{TIME_STYLE}"><v>{round(days, 8)!r}</v></c>'
    if isinstance(value, dt.date):
        return f'<c r="{ref}" s="{DATE_STYLE}"><v>{(value - _EPOCH.date()).days}</v></c>'
    if isinstance(value, numbers.Integral):
        return f'<c r="{ref}"{s}><v>{int(value)}</v></c>'
    if isinstance(value, numbers.Real) and math.isfinite(value):
        return f'<c r="{ref}"{s}><v>{float(value)!r}</v></c>'
    return f'<c r="{ref}"{s} t="inlineStr"><is><t xml:space="preserve">{escape(_text(value))}</t></is></c>'


def _sheet(header: Sequence[str], rows: list[Sequence[object]]) -> str:
    widths = [len(str(h)) for h in header]
    lines = []
    for r, row in enumerate([header, *rows], start=1):
        cells = []
        for c, value in enumerate(row):
            cells.append(_cell(f"{column_name(c)}{r}", value, 1 if r == 1 else 0))
            widths[c] = max(widths[c], min(len(_text(value)), MAX_WIDTH))
        lines.append(f'<row r="{r}">{"".join(cells)}</row>')
    cols = "".join(f'<col min="{c}" max="{c}" width="{w + 2}" customWidth="1"/>'
                   for c, w in enumerate(widths, start=1))
    frozen = ('<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
              'activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>')
    return _XML + (f'<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">{frozen}<cols>{cols}</cols>'
                   f'<sheetData>{"".join(lines)}</sheetData></worksheet>')


def to_xlsx(header: Sequence[str], rows: Iterable[Sequence[object]], sheet: str = "Sheet1") -> bytes:
    """The workbook's bytes: ``header`` as the first row, then one row per item of ``rows``."""
    rows = list(rows)
    if any(len(row) != len(header) for row in rows):
        raise ValueError("every row needs one value per header column")
    name = escape(re.sub(r"[\[\]:*?/\\]", " ", sheet)[:31] or "Sheet1", {'"': "&quot;"})
    workbook = _XML + (f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>'
                       f'<sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", _CONTENT_TYPES)
        z.writestr("_rels/.rels", _ROOT_RELS)
        z.writestr("xl/workbook.xml", workbook)
        z.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        z.writestr("xl/styles.xml", _STYLES)
        z.writestr("xl/worksheets/sheet1.xml", _sheet(header, rows))
    return buf.getvalue()
