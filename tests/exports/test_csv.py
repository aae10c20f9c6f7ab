"""The shared CSV download: streamed, lazily read, spreadsheet-safe, parseable."""

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

from django.http import StreamingHttpResponse

from exports import csv_download, csv_filename
from exports.csv import cell


def _parse(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def test_the_download_is_an_attachment_read_only_while_it_is_sent():
    consumed = []

    def rows():
        for n in range(3):
            consumed.append(n)
            yield (n, f"row {n}")

    response = csv_download(filename="things.csv", header=["n", "name"], rows=rows())

    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="things.csv"'
    assert consumed == [], "no row is read before the body is sent"
    assert _parse(response) == [["n", "name"], ["0", "row 0"], ["1", "row 1"], ["2", "row 2"]]


def test_it_starts_with_a_byte_order_mark_for_spreadsheets():
    response = csv_download(filename="x.csv", header=["a"], rows=iter([]))
    assert b"".join(response.streaming_content).startswith("\ufeff".encode())


def test_cells_are_written_in_plain_words_and_iso_dates():
    assert cell(None) == ""
    assert cell(True) == "Yes"
    assert cell(False) == "No"
    assert cell(Decimal("12.50")) == Decimal("12.50")
    assert cell(-3) == -3, "numbers are never quoted"
    assert cell(date(2026, 1, 31)) == "2026-01-31"
    assert cell(datetime(2026, 1, 31, 9, 5, tzinfo=UTC)) == "2026-01-31T09:05:00+00:00"


def test_text_a_spreadsheet_would_run_as_a_formula_is_quoted():
    for formula in ('=HYPERLINK("http://evil")', "+1+2", "-2+3", "@SUM(A1)", "\tx"):
        assert cell(formula) == f"'{formula}"
    assert cell("Ann O'Neil, Sales") == "Ann O'Neil, Sales"


def test_commas_quotes_and_new_lines_survive_the_round_trip():
    value = 'He said "hi",\nthen left'
    response = csv_download(filename="x.csv", header=["text"], rows=iter([(value,)]))
    assert _parse(response)[1] == [value]


def test_the_file_name_carries_the_parts_and_the_date(settings):
    name = csv_filename("Seats", "Contoso Ltd")
    assert name.startswith("seats-contoso-ltd-") and name.endswith(".csv")
