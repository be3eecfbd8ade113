"""The Excel workbook writer: what a spreadsheet program reads back from it."""
from __future__ import annotations

import io

import numpy as np
import openpyxl
import pytest

from deflect.xlsx import MAX_CELL_CHARS, column_name, to_xlsx


def read(data: bytes):
    return openpyxl.load_workbook(io.BytesIO(data)).active


def test_text_numbers_and_header_read_back_as_written():
    sheet = read(to_xlsx(("id", "label", "size", "score", "due"), [
        ("G-0001", "Kündigung: Frist & Form <sofort>", 14, 0.43, ""),
        ("G-0002", "=HYPERLINK(\"http://evil\")", np.int64(9), np.float64(0.5), "2026-12-31"),
    ], sheet="Gap report"))
    assert sheet.title == "Gap report"
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows == [["id", "label", "size", "score", "due"],
                    ["G-0001", "Kündigung: Frist & Form <sofort>", 14, 0.43, None],
                    ["G-0002", "=HYPERLINK(\"http://evil\")", 9, 0.5, "2026-12-31"]]
    # customer text that looks like a formula stays text: a spreadsheet shows it, never runs it
    assert sheet["B3"].data_type == "s"
    assert sheet["A1"].font.b and not sheet["A2"].font.b
    assert sheet.freeze_panes == "A2"


def test_text_xml_cannot_carry_is_cleaned_and_cut_to_excels_limit():
    sheet = read(to_xlsx(("text",), [("Bitte\x00 anrufen\x1b!",), ("x" * (MAX_CELL_CHARS + 10),)]))
    assert sheet["A2"].value == "Bitte anrufen!"
    assert len(sheet["A3"].value) == MAX_CELL_CHARS


def test_rows_must_match_the_header():
    with pytest.raises(ValueError, match="one value per header column"):
        to_xlsx(("a", "b"), [("only one",)])


def test_column_names():
    assert [column_name(i) for i in (0, 25, 26, 51, 52, 701, 702)] == ["A", "Z", "AA", "AZ", "BA", "ZZ", "AAA"]


def test_the_gap_report_rows_keep_a_zero_as_a_number():
    from deflect.gaps.model import Report, Topic
    from deflect.gaps.render import CSV_FIELDS, to_csv, to_xlsx

    report = Report(topics=[Topic(id="G-0006", status="covered", time_to_coverage_days=0.0, label="Schriftgröße")])
    row = dict(zip(CSV_FIELDS, to_csv(report).splitlines()[1].split(","), strict=True))
    assert row["time_to_coverage_days"] == "0.0" and row["label"] == "Schriftgröße"
    sheet = read(to_xlsx(report))
    assert sheet["U2"].value == 0 and sheet["A2"].value == "G-0006" and sheet.title == "Gap report"


def test_dates_and_times_are_excel_dates_in_the_readers_format():
    from datetime import UTC, date, datetime

    from deflect.gaps.model import Report, Topic
    from deflect.gaps.render import CSV_FIELDS
    from deflect.gaps.render import to_xlsx as report_workbook

    sheet = read(to_xlsx(("due", "seen"), [(date(2026, 12, 1), datetime(2026, 9, 26, 10, 0, 42, tzinfo=UTC))]))
    assert sheet["A2"].value == datetime(2026, 12, 1) and sheet["A2"].is_date
    assert sheet["B2"].value == datetime(2026, 9, 26, 10, 0, 42) and sheet["B2"].is_date
    report = Report(topics=[Topic(id="G-0001", status="planned", due="2026-12-01", overdue=True,
                                  first_seen="2026-09-26T10:00:42+00:00", label="Rätsel")])
    sheet = read(report_workbook(report, "de"))
    cells = dict(zip(CSV_FIELDS, [c.value for c in sheet[2]], strict=True))
    assert cells["due"] == datetime(2026, 12, 1) and cells["first_seen"] == datetime(2026, 9, 26, 10, 0, 42)
    assert cells["overdue"] == "ja" and cells["status"] == "geplant"
