"""workers.csv and caseload.csv: every bad row named by file:line and column; odd encodings read."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from courtsync.config.roster import load_caseload, load_workers
from courtsync.errors import RosterError
from tests.conftest import Run

COLLABS = {"cook-north", "cook-south", "kinship"}
HEADER = "id,name,email,role,office,supervisor_id,collaboratives\n"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(RosterError) as info:
        load_workers(path, COLLABS)
    return [str(p) for p in info.value.problems]


def test_reads_workers(config_dir: Path) -> None:
    workers = load_workers(config_dir / "workers.csv", COLLABS)
    assert list(workers) == ["s1", "w1", "w2"]
    assert workers["w1"].collaboratives == ("cook-north", "kinship")
    assert workers["w1"].supervisor_id == "s1" and workers["s1"].supervisor_id is None
    assert workers["w1"].line == 3


def test_unknown_supervisor(tmp_path: Path) -> None:
    f = write(tmp_path / "w.csv", HEADER + "w1,A,a@x.example,caseworker,O,s9,cook-north\n")
    assert problems(f) == [f"{f}:2 supervisor_id: 's9' is not the id of any row in this file; add the "
                           "supervisor's own row or correct the id"]


def test_unknown_collaborative(tmp_path: Path) -> None:
    f = write(tmp_path / "w.csv", HEADER + "w1,A,a@x.example,caseworker,O,,cook-north;cook-nrth\n")
    (p,) = problems(f)
    assert p.startswith(f"{f}:2 collaboratives: 'cook-nrth' is not a [[collaborative]] id")


def test_duplicate_id_and_email_and_bad_email(tmp_path: Path) -> None:
    f = write(tmp_path / "w.csv", HEADER + "w1,A,a@x.example,caseworker,O,,\n"
                                           "w1,B,b@x.example,caseworker,O,,\n"
                                           "w2,C,A@X.example,caseworker,O,,\n"
                                           "w3,D,not-an-email,caseworker,O,,\n")
    got = problems(f)
    assert got[0] == f"{f}:3 id: 'w1' is already used on line 2; ids must be unique"
    assert got[1].startswith(f"{f}:4 email: 'A@X.example' is already used on line 2")
    assert got[2].startswith(f"{f}:5 email: 'not-an-email' is not an email address")


def test_self_supervision(tmp_path: Path) -> None:
    f = write(tmp_path / "w.csv", HEADER + "w1,A,a@x.example,caseworker,O,w1,\n")
    assert "own supervisor" in problems(f)[0]


def test_missing_and_unknown_columns(tmp_path: Path) -> None:
    f = write(tmp_path / "w.csv", "id,name,mail,role,office,supervisor_id,collaboratives\n")
    (p,) = problems(f)
    assert p.startswith(f"{f}:1: missing column email; unknown column 'mail'")


def test_short_row(tmp_path: Path) -> None:
    f = write(tmp_path / "w.csv", HEADER + "w1,A,a@x.example,caseworker\n")
    assert problems(f) == [f"{f}:2: row has 4 fields but the header has 7; quote values that contain commas"]


def test_one_bad_row_reports_all_problems_not_just_the_first(tmp_path: Path) -> None:
    f = write(tmp_path / "w.csv", HEADER + "w1,,bad,,O,zz,nope\n")
    got = problems(f)
    assert {p.split(" ", 1)[1].split(":")[0] for p in got} == {"name", "email", "role", "collaboratives",
                                                               "supervisor_id"}


def test_bom_crlf_blank_lines_and_header_case(tmp_path: Path) -> None:
    text = "\ufeffID,Name,Email,Role,Office,Supervisor_ID,Collaboratives\r\n\r\n" \
           "w1, Ana ,ana@x.example,caseworker,O,,cook-north ; kinship\r\n"
    f = write(tmp_path / "w.csv", text)
    w = load_workers(f, COLLABS)["w1"]
    assert w.name == "Ana" and w.collaboratives == ("cook-north", "kinship")


def test_cp1252_export_is_read(tmp_path: Path) -> None:
    f = write(tmp_path / "w.csv", HEADER + "w1,José Núñez,jose@x.example,caseworker,O,,\n", "cp1252")
    assert load_workers(f, COLLABS)["w1"].name == "José Núñez"


def test_quoted_fields_and_calendar_column(tmp_path: Path) -> None:
    f = write(tmp_path / "w.csv", "id,name,email,role,office,supervisor_id,collaboratives,calendar\n"
                                  '"w1","Reyes, Dana",d@x.example,caseworker,"Office, 2nd floor",,,cal/d.ics\n')
    w = load_workers(f, COLLABS)["w1"]
    assert w.name == "Reyes, Dana" and w.calendar == "cal/d.ics" and w.collaboratives == ()


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RosterError) as info:
        load_workers(tmp_path / "nope.csv", COLLABS)
    assert "does not exist" in info.value.message


def test_caseload_checks_workers_and_courts(tmp_path: Path) -> None:
    f = write(tmp_path / "c.csv", "case_number,worker_id,court_id\n2027-JA-1,w1,cook-cpd\n"
                                  "2027-JA-2,w9,cook-cpd\n2027-JA-3,w1,kane\n,w1,cook-cpd\n")
    with pytest.raises(RosterError) as info:
        load_caseload(f, {"w1"}, {"cook-cpd"})
    got = [str(p) for p in info.value.problems]
    assert got[0] == f"{f}:3 worker_id: 'w9' is not an id in the workers file"
    assert got[1].startswith(f"{f}:4 court_id: 'kane' is not a [[court]] id")
    assert got[2] == f"{f}:5 case_number: is empty"


def test_bad_row_via_cli(config_dir: Path, run: Callable[..., Run]) -> None:
    workers = config_dir / "workers.csv"
    workers.write_text(workers.read_text() + "w3,Wu,wu@agency.example,caseworker,Chicago,s7,cook-north\n")
    result = run("check", "--config", config_dir / "courtsync.toml", "--worker", "w1", "--date", "2027-04-21")
    assert result.exit_code == 2
    assert f"{workers}:5 supervisor_id: 's7' is not the id" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
