"""A large Parquet file split into ranges of whole row groups (split_rows, docs/ENGINE.md "Splitting large files"):
how ranges are cut, how a mini-batch lists one, and that scoring the ranges one by one gives the whole file's rows,
numbered as in the whole file."""

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine import reading, scoring
from engine.errors import FileError

INPUTS = [{"name": "x", "type": "double"}]


def picky(frame):
    if (frame["x"] < 0).any():
        raise ValueError("x must not be negative")
    return (frame["x"] * 2).to_numpy()


def parquet(tmp_path, x, row_group_size, name="big.parquet"):
    path = tmp_path / name
    pq.write_table(pa.table({"x": pd.Series(x, dtype=float), "id": range(len(x))}), path, row_group_size=row_group_size)
    return path


@pytest.mark.parametrize(
    "groups, split_rows, ranges",
    [
        ([1000] * 10, 2000, [(0, 2000), (2000, 4000), (4000, 6000), (6000, 8000), (8000, 10000)]),
        ([1000] * 10, 2500, [(0, 2000), (2000, 4000), (4000, 6000), (6000, 8000), (8000, 10000)]),
        ([1000] * 3, 1000, [(0, 1000), (1000, 2000), (2000, 3000)]),
        ([1000] * 3, 5000, [(0, 3000)]),  # not more rows than split_rows: the whole file
        ([5000, 100, 100], 1000, [(0, 5000), (5000, 5200)]),  # a row group is never cut
        ([100, 5000, 100], 1000, [(0, 100), (100, 5100), (5100, 5200)]),
        ([], 1000, [(0, 0)]),
    ],
)
def test_ranges_are_whole_row_groups_of_about_split_rows_rows(groups, split_rows, ranges):
    assert reading.row_ranges(groups, split_rows) == ranges


@pytest.mark.parametrize(
    "entry, path, rows, described",
    [
        ("in/big.parquet#rows=2000-4000", "in/big.parquet", (2000, 4000), "in/big.parquet rows 2000–3999"),
        ("in/big.parquet", "in/big.parquet", None, "in/big.parquet"),
        ("in/a#b.parquet", "in/a#b.parquet", None, "in/a#b.parquet"),
        ("in/a#b.parquet#rows=0-10", "in/a#b.parquet", (0, 10), "in/a#b.parquet rows 0–9"),
    ],
)
def test_a_mini_batch_entry_names_its_file_and_its_rows(entry, path, rows, described):
    assert reading.split_entry(entry) == (path, rows)
    assert reading.file_path(entry) == path and reading.describe_entry(entry) == described
    assert reading.extension(entry) == ".parquet"
    if rows:
        assert reading.range_entry(path, *rows) == entry


def test_a_range_reads_only_its_row_groups_numbered_as_in_the_whole_file(tmp_path):
    path = parquet(tmp_path, range(10_000), 1000)
    assert reading.parquet_row_groups(path) == [1000] * 10
    frames = list(reading.parquet_batches("big.parquet", path, ["x"], row_range=(4000, 6000), rows=700))
    assert [len(f) for f in frames] == [700, 700, 600]
    rows = pd.concat(frames)
    assert rows.index.tolist() == list(range(4000, 6000)) and rows["x"].tolist() == [
        float(x) for x in range(4000, 6000)
    ]
    assert list(rows.columns) == ["x"]


def test_the_ranges_scored_one_by_one_give_the_whole_file_s_output_and_its_bad_rows(tmp_path):
    x = [float(-1 if r in (2500, 2501, 7777) else r) for r in range(10_000)]
    path = parquet(tmp_path, x, 1000)
    whole, whole_bad = scoring.score_isolating("in/big.parquet", path, picky, INPUTS, passthrough=["id"])
    entries = [reading.range_entry("in/big.parquet", *rows) for rows in reading.row_ranges([1000] * 10, 2000)]
    result = scoring.score_batch([(entry, path) for entry in entries], picky, INPUTS, passthrough=["id"])
    pd.testing.assert_frame_equal(result.frame, whole)
    assert set(result.frame["file_name"]) == {"big.parquet"}
    assert [bad.row for bad in whole_bad] == [2500, 2501, 7777]
    # the rows set aside name the file (their numbers are the file's), as for the whole file
    assert [(e["file"], e["row"]) for e in result.row_errors] == [
        ("in/big.parquet", 2500),
        ("in/big.parquet", 2501),
        ("in/big.parquet", 7777),
    ]
    assert [f.name for f in result.files] == entries


def test_a_range_that_is_no_longer_whole_row_groups_fails_as_a_file(tmp_path):
    path = parquet(tmp_path, range(3000), 400)  # rewritten since submit: 400-row groups, not 500
    result = scoring.score_batch([("big.parquet#rows=1000-2500", path)], picky, INPUTS)
    assert result.frame is None or result.frame.empty
    assert [(f.name, f.error.kind) for f in result.failed] == [("big.parquet#rows=1000-2500", "FileChanged")]
    assert "rows 1000–2499 are not whole row groups" in result.failed[0].error.message
    with pytest.raises(FileError, match="range of rows is read from the file"):
        scoring.score_isolating("a.csv#rows=0-10", b"x\n1\n", picky, INPUTS)


class Store:
    """A store of one file's bytes with ranged reads (as workspace.s3.S3Store and storage.BlobStore have)."""

    def __init__(self, data: bytes):
        self.data, self.reads = data, []

    def read_range(self, path, start, length):
        self.reads.append((start, length))
        return self.data[start : start + length]


def test_a_range_extract_holds_only_its_row_groups_and_scores_as_the_whole_file_s_range(tmp_path):
    from workspace.ranged import RangedFile

    x = [float(-1 if r in (2500, 4200) else r) for r in range(10_000)]
    path = parquet(tmp_path, x, 1000)
    store = Store(path.read_bytes())
    footer = RangedFile(store, "in/big.parquet", len(store.data))
    assert reading.parquet_row_groups(footer) == [1000] * 10
    assert footer.requests == 1 and footer.bytes_read <= 64 << 10 < len(store.data)  # pyarrow's footer read
    entry = reading.range_entry("in/big.parquet", 2000, 4000)
    source = RangedFile(store, "in/big.parquet", len(store.data))
    assert reading.write_row_groups(entry, source, (2000, 4000), tmp_path / "extract.parquet") == 2000
    assert source.bytes_read < footer.bytes_read + len(store.data) / 3  # the footer and two of ten row groups
    assert pq.ParquetFile(tmp_path / "extract.parquet").metadata.num_rows == 2000
    whole = scoring.score_batch([(entry, path)], picky, INPUTS, passthrough=["id"])
    extract = scoring.score_batch([(entry, tmp_path / "extract.parquet")], picky, INPUTS, passthrough=["id"])
    pd.testing.assert_frame_equal(extract.frame, whole.frame)
    assert extract.frame["row"].tolist() == [r for r in range(2000, 4000) if r != 2500]
    assert [(e["file"], e["row"]) for e in extract.row_errors] == [("in/big.parquet", 2500)]
    with pytest.raises(FileError, match="rows 4000–5999 are not whole row groups"):  # not the extract's rows
        list(reading.parquet_batches(entry, tmp_path / "extract.parquet", None, row_range=(4000, 6000)))
    with pytest.raises(FileError, match="FileChanged|not whole row groups"):
        reading.write_row_groups(entry, parquet(tmp_path, x, 1500, "other.parquet"), (2000, 4000), tmp_path / "e2")


def csv_file(tmp_path, lines: list[str], name="big.csv", end="\n"):
    path = tmp_path / name
    path.write_bytes(("x,id\n" + "\n".join(lines) + end).encode())
    return path


@pytest.mark.parametrize("end", ["\n", ""])
@pytest.mark.parametrize("scan", [1 << 20, 1000, 7])  # chunks that cut lines anywhere
def test_a_csv_file_is_cut_every_split_rows_lines_and_its_ranges_score_as_the_whole_file(
    tmp_path, monkeypatch, end, scan
):
    monkeypatch.setattr(reading, "CSV_SCAN_BYTES", scan)
    lines = [f"{-1 if r in (2500, 4999) else r}.5,{r}" for r in range(5003)]
    lines[3100] = "1.5,7,extra"  # a record of more fields than the header: set aside by the parser's isolation
    path = csv_file(tmp_path, lines, end=end)
    found = reading.csv_ranges(path, 1000)
    assert [(a, b) for a, b, _, _ in found] == [
        (0, 1000),
        (1000, 2000),
        (2000, 3000),
        (3000, 4000),
        (4000, 5000),
        (5000, 5003),
    ]
    data = path.read_bytes()
    assert all(data[first - 1 : first] == b"\n" for _, _, first, _ in found) and found[-1][3] == len(data)
    whole, whole_bad = scoring.score_isolating("in/big.csv", data, picky, INPUTS, passthrough=["id"])
    entries = [reading.range_entry("in/big.csv", a, b, (first, last)) for a, b, first, last in found]
    result = scoring.score_batch([(entry, path) for entry in entries], picky, INPUTS, passthrough=["id"])
    pd.testing.assert_frame_equal(result.frame, whole)
    assert [e["row"] for e in result.row_errors] == [bad.row for bad in whole_bad] == [2500, 3100, 4999]
    assert set(result.frame["file_name"]) == {"big.csv"}


@pytest.mark.parametrize("scan", [1 << 20, 1000, 7])  # chunks that cut lines (and blank lines) anywhere
@pytest.mark.parametrize(
    "lines, why",
    [
        (['"1.5",0'] + [f"{r}.5,{r}" for r in range(1, 5000)], "a quote: a value may hold a newline"),
        ([f"{r}.5,{r}" for r in range(2500)] + [""] + [f"{r}.5,{r}" for r in range(2500)], "a blank line is no row"),
        ([f"{r}.5,{r}" for r in range(2500)] + ["\r"] + [f"{r}.5,{r}" for r in range(2500)], "a blank \\r\\n line"),
        ([""] + [f"{r}.5,{r}" for r in range(5000)], "a blank line right after the header"),
        ([f"{r}.5,{r}" for r in range(900)], "no more rows than split_rows"),
    ],
)
def test_a_csv_file_a_line_split_could_misread_is_not_split(tmp_path, monkeypatch, lines, why, scan):
    monkeypatch.setattr(reading, "CSV_SCAN_BYTES", scan)
    assert reading.csv_ranges(csv_file(tmp_path, lines), 1000) is None, why


@pytest.mark.parametrize("scan", [1 << 20, 7])
def test_one_character_lines_and_crlf_endings_are_rows_not_blank_lines(tmp_path, monkeypatch, scan):
    monkeypatch.setattr(reading, "CSV_SCAN_BYTES", scan)
    path = tmp_path / "short.csv"
    path.write_bytes(b"x\n" + b"".join(b"%d\n" % (r % 10) for r in range(2500)))  # "\n5\n": a row, not blank
    assert [(a, b) for a, b, _, _ in reading.csv_ranges(path, 1000)] == [(0, 1000), (1000, 2000), (2000, 2500)]
    crlf = tmp_path / "crlf.csv"
    crlf.write_bytes(b"x,id\r\n" + b"".join(b"%d.5,%d\r\n" % (r, r) for r in range(2500)))
    assert [(a, b) for a, b, _, _ in reading.csv_ranges(crlf, 1000)] == [(0, 1000), (1000, 2000), (2000, 2500)]


def test_a_csv_range_whose_rows_moved_fails_as_a_file(tmp_path):
    path = csv_file(tmp_path, [f"{r}.5,{r}" for r in range(3000)])
    (_, (a, b, first, end), _) = reading.csv_ranges(path, 1000)
    path.write_bytes(path.read_bytes().replace(b"\n5.5,5\n", b"\n"))  # a line removed since submit
    entry = reading.range_entry("big.csv", a, b, (first, end))
    result = scoring.score_batch([(entry, path)], picky, INPUTS)
    assert [(f.name, f.error.kind) for f in result.failed] == [(entry, "FileChanged")]
