"""Export as CSV, JSON and Markdown (export.py, `mjdash export`): every format parses back."""

from __future__ import annotations

import csv
import io
import json

import pytest

from mjdash.model import export
from mjdash.model.export import FIELDS, md_unescape, render, split_md_row
from mjdash.model.task import Task, parse_task
from mjdash.sim.engine import Engine
from tests.unit.test_cli import Runner, imagine, run, wait_finished  # noqa: F401 - `run` is a fixture

HOSTILE = '=HYPERLINK("http://evil") | pipe\nnew line <script>x</script> `tick` *b* _u_ [l](x) \\'


@pytest.fixture(scope="module")
def tasks() -> list[Task]:
    """The demo batch (grids with buttons, a failure, MODAL, running, queued) and hostile text."""
    engine = Engine(seed=7, fail_rate=0.0)
    ids = engine.seed_demo()
    parsed = [parse_task(engine.task_json(i)) for i in ids]
    hostile = parsed[0]
    parsed.append(
        Task(
            "1773314942177999",
            hostile.status,
            hostile.status_raw,
            action="IMAGINE",
            prompt=HOSTILE,
            final_prompt="@SUM(A1) -1 +1",
            fail_reason="|a|b|",
            buttons=hostile.buttons,
        )
    )
    return parsed


def records_of(tasks: list[Task]) -> list[dict]:
    return export.records_for(
        [t.id for t in tasks] + ["1773314942177000"], {t.id: t for t in tasks}
    )


def test_records_hold_ids_prompts_times_and_buttons_with_custom_ids(tasks):
    records = records_of(tasks)
    grid = records[0]
    assert list(grid) == list(FIELDS)
    assert grid["status"] == "SUCCESS" and grid["action"] == "IMAGINE"
    assert grid["imageUrl"].endswith(f"/mj/image/{grid['id']}")
    assert grid["submitTime"] and grid["startTime"] and grid["finishTime"]
    assert grid["renderSeconds"] > 0 and grid["queueSeconds"] >= 0
    assert [b["label"] for b in grid["buttons"]][:4] == ["U1", "U2", "U3", "U4"]
    assert grid["buttons"][0]["customId"].startswith("MJ::JOB::upsample::1::")
    failed = next(r for r in records if r["status"] == "FAILURE" and r["failReason"])
    assert failed["failReason"]
    unknown = records[-1]  # watched, never polled: the id only
    assert unknown["id"] == "1773314942177000" and unknown["status"] is None
    assert unknown["buttons"] == []


def test_json_parses_back_equal(tasks):
    records = records_of(tasks)
    text = render(records, "json")
    assert text.isascii()
    assert json.loads(text) == records


def test_csv_parses_back_and_defuses_formulas(tasks):
    records = records_of(tasks)
    rows = list(csv.DictReader(io.StringIO(render(records, "csv"), newline="")))
    assert len(rows) == len(records)
    for record, row in zip(records, rows, strict=True):
        assert list(row) == list(FIELDS)
        assert json.loads(row["buttons"]) == record["buttons"]
        for name in ("id", "status", "prompt", "finalPrompt", "imageUrl", "failReason"):
            value = record[name] or ""
            if value.startswith(("=", "+", "-", "@")):
                assert row[name] == "'" + value  # shown as text by a spreadsheet
            else:
                assert row[name] == value
        if record["progress"] is not None:
            assert int(row["progress"]) == record["progress"]
    hostile = rows[-2]
    assert hostile["prompt"].startswith("'=HYPERLINK") and "\n" in hostile["prompt"]
    assert hostile["finalPrompt"] == "'@SUM(A1) -1 +1"


def test_markdown_table_parses_back(tasks):
    records = records_of(tasks)
    lines = render(records, "md").splitlines()
    assert split_md_row(lines[0]) == list(export.MD_FIELDS)
    assert set(lines[1]) <= {"|", "-"}
    body = lines[2:]
    assert len(body) == len(records)  # one line per task, whatever the prompt holds
    for record, line in zip(records, body, strict=True):
        cells = [md_unescape(cell) for cell in split_md_row(line)]
        assert len(cells) == len(export.MD_FIELDS)
        row = dict(zip(export.MD_FIELDS, cells, strict=True))
        for name in ("id", "action", "status", "prompt", "finalPrompt", "imageUrl", "failReason"):
            assert row[name] == (record[name] or "")
        buttons = [line.split(": ", 1) for line in row["buttons"].splitlines()]
        assert [{"label": a, "customId": b} for a, b in buttons] == record["buttons"]
    hostile_line = body[-2]
    assert "<script>" not in hostile_line and "&lt;script&gt;" in hostile_line


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="csv, json, md"):
        render([], "xml")


def test_cli_export_reads_the_cache_without_a_request(sim, run: Runner, tmp_path):  # noqa: F811
    ids = [imagine(sim, f"paper lantern {n}") for n in range(3)]
    wait_finished(sim, ids)
    base = ["--base-url", sim.url]
    assert run("add", *ids).code == 0
    assert run("status", *base).code == 0  # fills the cache
    sim.reset_stats()
    done = run("export", "--format", "json", *base, COMETAPI_KEY=None)
    assert done.code == 0, done.err
    records = json.loads(done.out)
    assert [r["id"] for r in records] == ids
    assert all(r["status"] == "SUCCESS" and len(r["buttons"]) == 9 for r in records)
    target = tmp_path / "out.md"
    done = run("export", "--format", "md", "--output", str(target), *base, COMETAPI_KEY=None)
    assert done.code == 0 and target.is_file() and "exported 3 tasks" in done.err
    assert len(target.read_text().splitlines()) == 2 + 3
    assert sim.stats()["total"] == 0
    assert run("export", "--format", "xml").code == 2


def test_markdown_has_the_same_columns_as_csv(tasks):
    records = records_of(tasks)
    csv_header = next(csv.reader(io.StringIO(render(records, "csv"))))
    md_header = split_md_row(render(records, "md").splitlines()[0])
    assert md_header == csv_header == list(FIELDS)
    first = dict(zip(md_header, split_md_row(render(records, "md").splitlines()[2]), strict=True))
    assert first["renderSeconds"] == str(records[0]["renderSeconds"] or "")


def test_status_json_is_the_export_record_with_buttons_by_name(tasks):
    """One record builder: `status --json` holds the export's fields, each button's name under
    its documented key ("name"; the export's is "label"), plus "error" when the last answer
    was unusable."""
    from mjdash.model.report import Row, row_json

    for task in tasks:
        record = export.task_record(task.id, task)
        line = row_json(Row(task.id, task))
        assert list(line) == list(FIELDS)
        assert {k: v for k, v in line.items() if k != "buttons"} == {
            k: v for k, v in record.items() if k != "buttons"
        }
        assert [(b["name"], b["customId"]) for b in line["buttons"]] == [
            (b["label"], b["customId"]) for b in record["buttons"]
        ]
    stale = row_json(Row(tasks[0].id, tasks[0], error="answer too large"))
    assert stale["error"] == "answer too large" and stale["status"] == tasks[0].status_text
    assert row_json(Row("1773314942177000")) == {
        "id": "1773314942177000",
        "error": "not polled yet",
    }
