"""`courtsync enroll` through the CLI on the init example: the assignment, bad registrations, commit as membership,
late registrations and rebalancing, and confirmations through a real SMTP server."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest

from courtsync.notices.letters import long_date
from tests.conftest import AS_OF, Run
from tests.smtp_server import SmtpServer
from tests.store_sql import store_sql
from tests.test_outbox_faults import courtsync, finish

Runner = Callable[..., Run]


def enroll(run: Runner, example_dir: Path, *args: str) -> Run:
    return run("enroll", "--config", example_dir / "courtsync.toml", "--as-of", AS_OF.isoformat(), *args)


def as_json(result: Run) -> dict:  # type: ignore[type-arg]
    return json.loads(result.stdout)


def placed(result: Run) -> dict[str, str | None]:
    return {a["worker_id"]: a["collaborative_id"] for a in as_json(result)["assignment"]}


def write_registrations(example_dir: Path, text: str, name: str = "registrations.csv") -> Path:
    path = example_dir / name
    path.write_text(text)
    return path


def test_the_example_places_everyone_and_beats_first_come(run: Runner, example_dir: Path) -> None:
    result = enroll(run, example_dir, "--format", "json")
    assert result.exit_code == 0, result.stderr
    body = as_json(result)
    s = body["summary"]
    assert (s["registered"], s["placed"], s["unplaced"]) == (25, 25, 0)
    assert (s["first_choice"], s["second_choice"], s["third_choice"]) == (24, 1, 0)
    # Seven want will-joliet first and it has six seats. w25 asked for it alone: first come, first served (rows
    # w19..w24 first) would leave them out; the optimum places them and sends one of w19..w24 to cook-south.
    where = placed(result)
    assert where["w25"] == "will-joliet"
    assert sorted(where[f"w{i}"] for i in range(19, 25)) == ["cook-south"] + ["will-joliet"] * 5
    # cook-north: the 12 who chose it and its two supervisors, who hold their seats (workers.csv); cook-south:
    # s03, s04, w13..w18 and the one from Joliet.
    sizes = {c["id"]: (c["size"], c["capacity"], c["seats_left"]) for c in body["cohorts"]}
    assert sizes == {"cook-north": (14, 16, 2), "cook-south": (9, 16, 7), "will-joliet": (6, 6, 0)}
    assert body["committed"] is False


def test_table_and_csv(run: Runner, example_dir: Path) -> None:
    table = enroll(run, example_dir)
    assert table.exit_code == 0
    assert "registered 25: placed 25 (1st choice 24 (96%), 2nd 1, 3rd 0), unplaced 0" in table.stdout
    assert "(preview only" in table.stdout
    csv_out = enroll(run, example_dir, "--format", "csv")
    lines = csv_out.stdout.splitlines()
    assert lines[0] == "worker_id,worker_name,supervisor_id,status,collaborative_id,choice,previous,reason"
    assert len(lines) == 26 and lines[1].startswith("w01,Tamika Johnson,s01,placed,cook-north,1,")


def test_the_same_input_gives_the_same_output(run: Runner, example_dir: Path) -> None:
    first = enroll(run, example_dir, "--format", "json").stdout
    assert all(enroll(run, example_dir, "--format", "json").stdout == first for _ in range(2))


def test_capacity_that_cannot_hold_everyone_exits_1_naming_the_unplaced(run: Runner, example_dir: Path) -> None:
    toml = example_dir / "courtsync.toml"
    toml.write_text(toml.read_text().replace("capacity = 16", "capacity = 8"))
    result = enroll(run, example_dir)
    assert result.exit_code == 1, result.stderr
    assert "unplaced:" in result.stdout and "every choice full" in result.stdout
    body = as_json(enroll(run, example_dir, "--format", "json"))
    # Seats: north 8 - 2 supervisors, south 8 - 2, Joliet 6 = 18 for 25 registrations.
    assert body["summary"]["placed"] == 18 and body["summary"]["unplaced"] == 7
    assert body["summary"]["unplaced_why"] == {"every choice full": 7}


def test_capacity_zero_and_a_collaborative_without_sessions_left(run: Runner, example_dir: Path) -> None:
    toml = example_dir / "courtsync.toml"
    toml.write_text(toml.read_text().replace("capacity = 6", "capacity = 0"))
    write_registrations(example_dir, "worker_id,choice_1,choice_2,choice_3\n"
                                     "w19,will-joliet,,\nw20,kinship-affinity,,\nw21,,,\nw22,cook-south,,\n")
    # kinship-affinity's dates all lie within a few months: as of a year on, it has none left.
    later = run("enroll", "--config", toml, "--as-of", "2027-12-01", "--format", "json")
    body = as_json(later)
    assert later.exit_code == 1
    why = {a["worker_id"]: a["reason"] for a in body["assignment"]}
    assert why["w19"] == "no choice open: will-joliet has capacity 0"
    assert why["w20"] == "no choice open: kinship-affinity has no sessions on or after 2027-12-01"
    assert why["w21"] == "no choice given"
    assert why["w22"] is None
    assert any("choice_1: kinship-affinity has no sessions on or after 2027-12-01" in n for n in body["notes"])


def test_bad_rows_exit_2_naming_every_row_and_column(run: Runner, example_dir: Path) -> None:
    write_registrations(example_dir, "worker_id,choice_1,choice_2,choice_3\n"
                                     "w01,cook-north,cook-north,\n"      # a choice repeated
                                     "nobody,cook-north,,\n"             # unknown worker
                                     "w02,cook-nort,,\n"                 # unknown collaborative
                                     "w03,cook-north,,\n"
                                     "w03,cook-south,,\n"                # registered twice
                                     "w04,,cook-south,\n")               # a gap before a choice
    result = enroll(run, example_dir)
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    err = result.stderr
    for where in ("registrations.csv:2 choice_2", "registrations.csv:3 worker_id", "registrations.csv:4 choice_1",
                  "registrations.csv:6 worker_id", "registrations.csv:7 choice_2"):
        assert where in err, err
    assert "already registered on line 5" in err and "'cook-nort' is not a [[collaborative]] id" in err


def test_bom_and_crlf_are_read(run: Runner, example_dir: Path) -> None:
    path = example_dir / "registrations.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
    result = enroll(run, example_dir, "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert as_json(result)["summary"]["placed"] == 25


def test_200000_rows_get_a_short_clear_answer(run: Runner, example_dir: Path) -> None:
    rows = ["worker_id,choice_1,choice_2,choice_3", "w01,cook-north,,"]
    rows += [f"x{i},cook-north,cook-south," for i in range(200_000)]
    write_registrations(example_dir, "\n".join(rows) + "\n")
    result = enroll(run, example_dir)
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert "has 200000 problems" in result.stderr and "...and 199960 more" in result.stderr
    assert len(result.stderr.splitlines()) < 60


def test_a_missing_file_says_how_to_give_one(run: Runner, example_dir: Path) -> None:
    result = enroll(run, example_dir, "--registrations", str(example_dir / "nope.csv"))
    assert result.exit_code == 2 and "nope.csv does not exist" in result.stderr and "--registrations" in result.stderr


def dates_of(run: Runner, example_dir: Path, worker: str) -> set[str]:
    result = run("dates", "--config", example_dir / "courtsync.toml", "--as-of", AS_OF.isoformat(),
                 "--worker", worker, "--format", "json")
    return {s["collaborative_id"] for s in json.loads(result.stdout)["sessions"]}


def test_commit_makes_it_membership_and_later_runs_keep_the_seats(run: Runner, example_dir: Path) -> None:
    assert dates_of(run, example_dir, "w19") == {"cook-regional", "cook-south"}
    committed = enroll(run, example_dir, "--commit", "--format", "json")
    assert committed.exit_code == 0 and as_json(committed)["enrolled"] == 25
    # w19 was listed at cook-south (workers.csv) and is enrolled at will-joliet: the same tier is replaced, the
    # regional one stays.
    assert dates_of(run, example_dir, "w19") == {"cook-regional", "will-joliet"}
    again = as_json(enroll(run, example_dir, "--commit", "--format", "json"))
    assert again["enrolled"] == 0 and again["moved"] == 0 and again["summary"]["kept"] == 25
    # Late registrations fill what is left: will-joliet is full, so s03 and s04 get their second choice.
    path = example_dir / "registrations.csv"
    path.write_text(path.read_text() + "s03,will-joliet,cook-north,\ns04,will-joliet,cook-north,\n")
    late = as_json(enroll(run, example_dir, "--commit", "--format", "json"))
    rows = {a["worker_id"]: (a["status"], a["collaborative_id"], a["choice"]) for a in late["assignment"]}
    assert rows["s03"] == rows["s04"] == ("placed", "cook-north", 2)
    assert late["summary"]["kept"] == 25 and late["enrolled"] == 2
    assert dates_of(run, example_dir, "w25") == {"cook-regional", "will-joliet"}   # nobody moved


def test_rebalance_lists_every_move(run: Runner, example_dir: Path) -> None:
    path = example_dir / "registrations.csv"
    original = path.read_text()
    # First only the Joliet staff register, for cook-south first: all seven get it.
    path.write_text("worker_id,choice_1,choice_2,choice_3\n" + "".join(
        f"w{i},cook-south,will-joliet,\n" for i in range(19, 26)))
    first = as_json(enroll(run, example_dir, "--commit", "--format", "json"))
    assert first["summary"]["first_choice"] == 7
    # Then the real registrations: without --rebalance the seven keep cook-south; with it, the ones whose first
    # choice is will-joliet move there, and each move is listed.
    path.write_text(original)
    kept = as_json(enroll(run, example_dir, "--format", "json"))
    assert kept["summary"]["kept"] == 7 and kept["moves"] == []
    moved = enroll(run, example_dir, "--rebalance", "--commit", "--format", "json")
    body = as_json(moved)
    moves = {m["worker_id"]: (m["from"], m["to"]) for m in body["moves"]}
    assert moves and all(a == "cook-south" and b == "will-joliet" for a, b in moves.values())
    assert body["moved"] == len(moves)
    # w25 asked for will-joliet alone, so it takes one of the six seats: five of w19..w24 move with them and
    # one stays at cook-south (their 2nd choice now), not moved.
    assert len(moves) == 6 and "w25" in moves
    assert body["summary"]["first_choice"] == 24
    table = enroll(run, example_dir, "--rebalance")
    assert "would move:" not in table.stdout and "0 would move" in table.stdout   # where the optimum puts them


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


def test_send_confirms_each_enrollment_once_and_an_update_when_it_changes(run: Runner, example_dir: Path,
                                                                          smtp: SmtpServer) -> None:
    toml = example_dir / "courtsync.toml"
    toml.write_text(toml.read_text() + smtp.toml())
    first = enroll(run, example_dir, "--commit", "--send")
    assert first.exit_code == 0, first.stderr
    assert "confirmations: queued 25, already queued 0; sent 25" in first.stderr
    assert len(smtp.received) == 25
    rcpt, msg = next((r, m) for r, m in smtp.received if "Omar Haddad" in str(m["Subject"]))
    assert rcpt == "helen.brandt@agency.example"   # w25's supervisor of record, s04
    assert str(msg["Subject"]) == ("Illinois Department of Children and Family Services — enrollment confirmed: "
                                   "Omar Haddad, Will County Training Center")
    text = msg.get_body(("plain",)).get_content()
    assert "150 W. Jefferson St, Joliet, IL 60432" in text and "To ask for a change, contact" in text
    # every session of the series, as the letters write dates and hours
    assert text.count("\n  - ") == 9 and "Thursday, " in text and "9:00 a.m. to 4:00 p.m." in text
    again = enroll(run, example_dir, "--commit", "--send")
    assert "confirmations: none new" in again.stderr and len(smtp.received) == 25
    # A session of will-joliet is cancelled: each of its six people's supervisors hears once more.
    text_toml = toml.read_text()
    first_will = text_toml.split('id = "will-joliet"', 1)[1].split("first_session = ", 1)[1][:10]
    toml.write_text(text_toml.replace("capacity = 6\n", f"capacity = 6\ncancelled = [{first_will}]\n", 1))
    update = enroll(run, example_dir, "--commit", "--send")
    assert "queued 6" in update.stderr, update.stderr
    news = smtp.received[25:]
    assert len(news) == 6 and all("dates changed: " in str(m["Subject"]) for _, m in news)
    cancelled = long_date(date.fromisoformat(first_will))   # "Thursday, December 10, 2026": no longer listed
    assert cancelled in text and all(cancelled not in m.get_body(("plain",)).get_content() for _, m in news)
    assert len(set(smtp.message_ids())) == 31 and max(smtp.message_ids().values()) == 1


def makeups_of(run: Runner, example_dir: Path, worker: str) -> set[str]:
    result = run("check", "--config", example_dir / "courtsync.toml", "--as-of", AS_OF.isoformat(),
                 "--worker", worker, "--format", "json")
    return {m["collaborative_id"] for c in json.loads(result.stdout)["conflicts"] for m in c.get("makeups", [])}


def test_a_make_up_at_a_collaborative_with_no_free_seat_is_not_offered(run: Runner, example_dir: Path) -> None:
    assert "cook-south" in makeups_of(run, example_dir, "w01")   # 15 listed members, 16 seats
    toml = example_dir / "courtsync.toml"
    text = toml.read_text()
    south = text.index('id = "cook-south"')
    toml.write_text(text[:south] + text[south:].replace("capacity = 16", "capacity = 15", 1))
    assert "cook-south" not in makeups_of(run, example_dir, "w01")
    # Enrollment moves w19..w25 out of cook-south (six to will-joliet): seats free up there, and will-joliet
    # (six seats, six enrolled) is full.
    assert enroll(run, example_dir, "--commit").exit_code == 0
    offered = makeups_of(run, example_dir, "w01")
    assert "cook-south" in offered and "will-joliet" not in offered


def test_send_without_a_mail_setting_stops_before_anything_is_committed(run: Runner, example_dir: Path) -> None:
    result = enroll(run, example_dir, "--commit", "--send")
    assert result.exit_code == 2 and "[smtp]" in result.stderr
    assert dates_of(run, example_dir, "w25") == {"cook-regional", "cook-south"}   # not enrolled


def test_a_commit_amends_the_letters_of_the_courts_whose_staff_moved(run: Runner, example_dir: Path,
                                                                     tmp_path: Path) -> None:
    pytest.importorskip("weasyprint")
    args = ["--config", str(example_dir / "courtsync.toml"), "--as-of", AS_OF.isoformat()]
    assert run("notices", *args, "--print", "--out", tmp_path / "batch").exit_code == 0
    assert enroll(run, example_dir, "--commit").exit_code == 0
    after = run("notices", *args)
    lines = {line.split()[0]: line for line in after.stdout.splitlines() if line.startswith(("cook-cpd", "will-juv"))}
    # The Joliet staff (will-juv's) moved from cook-south to will-joliet; cook-cpd's staff kept their sites.
    assert "amended letter" in lines["will-juv"] and "no change" in lines["cook-cpd"]


def test_two_commits_at_once_never_fill_a_seat_twice(run: Runner, example_dir: Path) -> None:
    # Eight people ask for will-joliet's six seats, in two files committed at the same moment: each commit plans
    # against what the other committed (the store's enrollment lock), so six are placed, not eight.
    toml = str(example_dir / "courtsync.toml")
    assert run("db", "upgrade", "--config", toml).exit_code == 0   # (so neither child creates the store)
    header = "worker_id,choice_1,choice_2,choice_3\n"
    a = write_registrations(example_dir, header + "".join(f"w{i},will-joliet,,\n" for i in range(19, 25)), "a.csv")
    b = write_registrations(example_dir, header + "s03,will-joliet,,\ns04,will-joliet,,\n", "b.csv")
    both = [courtsync("enroll", "--config", toml, "--as-of", AS_OF.isoformat(), "--commit", "--registrations",
                      str(path), "--format", "json") for path in (a, b)]
    results = [finish(p) for p in both]
    assert sorted(code for code, _, _ in results) == [0, 1], [err for _, _, err in results]
    assert sum(json.loads(out)["enrolled"] for _, out, _ in results) == 6
    sizes = dict(store_sql(example_dir, "SELECT collaborative, COUNT(*) FROM enrollments GROUP BY collaborative",
                           part="records"))
    assert sizes == {"will-joliet": 6, None: 2}   # the two who found no seat are recorded so
    assert store_sql(example_dir, "SELECT COUNT(*) FROM enrollment_log", part="records")[0][0] == 8


def test_confirmations_queued_while_the_mail_server_is_down_go_once_when_it_is_back(run: Runner,
                                                                                     example_dir: Path) -> None:
    server = SmtpServer()   # its port, not listening yet
    toml = example_dir / "courtsync.toml"
    toml.write_text(toml.read_text() + server.toml())
    down = enroll(run, example_dir, "--commit", "--send")
    assert down.exit_code == 3, down.stderr   # enrolled, confirmations queued, none delivered
    assert "confirmations: queued 25" in down.stderr and "sent 0" in down.stderr
    server.start()
    try:
        back = enroll(run, example_dir, "--send")   # nothing new to confirm: what is queued goes
        assert back.exit_code == 0, back.stderr
        assert "queued 0" in back.stderr and "sent 25" in back.stderr
        assert len(server.received) == 25 and max(server.message_ids().values()) == 1
        assert "confirmations: none new" in enroll(run, example_dir, "--send").stderr
    finally:
        server.stop()


# --- bugs found in review, each with its case ---------------------------------------------------------------------


def capacity_of(example_dir: Path, collaborative: str, seats: int) -> None:
    toml = example_dir / "courtsync.toml"
    text = toml.read_text()
    at = text.index(f'id = "{collaborative}"')
    head, tail = text[:at], text[at:]
    section, rest = (tail.split("\n[[", 1) + [""])[:2]
    section = "\n".join(line for line in section.splitlines() if not line.startswith("capacity ="))
    toml.write_text(head + section + f"\ncapacity = {seats}\n" + ("\n[[" + rest if rest else ""))


def test_registered_and_unplaced_gives_up_the_listed_seat_the_plan_counted_free(run: Runner,
                                                                                 example_dir: Path) -> None:
    # w25 (listed at cook-south) asks for will-joliet only, which has no seat: the plan counts w25's cook-south seat
    # as free, so the commit must not leave w25 there (the cohort would hold more than the plan said).
    capacity_of(example_dir, "will-joliet", 0)
    write_registrations(example_dir, "worker_id,choice_1,choice_2,choice_3\nw25,will-joliet,,\n")
    result = enroll(run, example_dir, "--commit", "--format", "json")
    assert result.exit_code == 1
    body = as_json(result)
    assert body["unplaced_recorded"] == 1
    assert dates_of(run, example_dir, "w25") == {"cook-regional"}   # the training-center listing is given up
    # Seats seen by the next run agree with the memberships: cook-south's 15 listed less w25.
    later = as_json(enroll(run, example_dir, "--format", "json", "--registrations",
                           str(write_registrations(example_dir, "worker_id,choice_1,choice_2,choice_3\n"
                                                                "w24,cook-south,,\n", "again.csv"))))
    assert next(c for c in later["cohorts"] if c["id"] == "cook-south")["size"] == 14


def test_a_rebalance_that_leaves_an_enrolled_person_without_a_seat_records_and_lists_it(run: Runner,
                                                                                       example_dir: Path) -> None:
    capacity_of(example_dir, "will-joliet", 1)
    header = "worker_id,choice_1,choice_2,choice_3\n"
    write_registrations(example_dir, header + "w24,will-joliet,,\n")
    assert enroll(run, example_dir, "--commit").exit_code == 0
    # w23 registers too, earlier in the file; one seat for two: the enrolled w24 keeps it (as few moves as can be).
    write_registrations(example_dir, header + "w23,will-joliet,,\nw24,will-joliet,,\n")
    body = as_json(enroll(run, example_dir, "--rebalance", "--commit", "--format", "json"))
    assert placed_of(body) == {"w23": None, "w24": "will-joliet"}
    assert body["moves"] == []
    # Capacity drops to 0: a rebalance takes w24's seat away, says so, and records it.
    capacity_of(example_dir, "will-joliet", 0)
    body = as_json(enroll(run, example_dir, "--rebalance", "--commit", "--format", "json"))
    assert {"worker_id": "w24", "from": "will-joliet", "to": None} in body["moves"]
    assert "will-joliet" not in dates_of(run, example_dir, "w24")


def placed_of(body: dict) -> dict[str, str | None]:  # type: ignore[type-arg]
    return {a["worker_id"]: a["collaborative_id"] for a in body["assignment"]}


def test_choices_of_two_kinds_in_one_row_are_refused(run: Runner, example_dir: Path) -> None:
    write_registrations(example_dir, "worker_id,choice_1,choice_2,choice_3\nw03,cook-south,kinship-affinity,\n")
    result = enroll(run, example_dir)
    assert result.exit_code == 2
    assert ("registrations.csv:2 choice_2: 'kinship-affinity' is of kind affinity-group but choice_1 (cook-south) "
            "is of kind training-center; a registration ranks collaboratives of one kind") in result.stderr


def test_a_mistyped_collaborative_is_suggested(run: Runner, example_dir: Path) -> None:
    write_registrations(example_dir, "worker_id,choice_1,choice_2,choice_3\nw01,cook-nrth,,\n")
    result = enroll(run, example_dir)
    assert result.exit_code == 2 and "'cook-nrth' is not a [[collaborative]] id" in result.stderr
    assert "did you mean 'cook-north'?" in result.stderr


def test_a_column_given_twice_is_refused(run: Runner, example_dir: Path) -> None:
    write_registrations(example_dir, "worker_id,choice_1,choice_1\nw25,will-joliet,cook-south\n")
    result = enroll(run, example_dir)
    assert result.exit_code == 2 and "registrations.csv:1" in result.stderr and "choice_1 given twice" in result.stderr


def test_a_spreadsheets_empty_rows_are_skipped(run: Runner, example_dir: Path) -> None:
    path = example_dir / "registrations.csv"
    path.write_text(path.read_text() + ",,,\n,,,\n")
    result = enroll(run, example_dir, "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert as_json(result)["summary"]["registered"] == 25


def test_a_confirmation_that_cannot_go_is_exit_3(run: Runner, example_dir: Path, smtp: SmtpServer) -> None:
    toml = example_dir / "courtsync.toml"
    toml.write_text(toml.read_text() + smtp.toml())
    write_registrations(example_dir, "worker_id,choice_1,choice_2,choice_3\na001,will-joliet,,\n")
    result = enroll(run, example_dir, "--commit", "--send")
    assert result.exit_code == 3 and "a001 has no supervisor_id" in result.stderr
    assert smtp.received == []


def test_back_and_forth_each_move_is_confirmed_and_a_stale_one_never_goes(run: Runner, example_dir: Path) -> None:
    server = SmtpServer()
    toml = example_dir / "courtsync.toml"
    toml.write_text(toml.read_text() + server.toml())
    header = "worker_id,choice_1,choice_2,choice_3\n"
    # The mail server is down: w25's confirmation of will-joliet waits in the outbox ...
    write_registrations(example_dir, header + "w25,will-joliet,,\n")
    assert enroll(run, example_dir, "--commit", "--send").exit_code == 3
    # ... w25 moves to cook-south before it could go: only the current one goes when the server is back.
    write_registrations(example_dir, header + "w25,cook-south,,\n")
    server.start()
    try:
        moved = enroll(run, example_dir, "--rebalance", "--commit", "--send")
        assert moved.exit_code == 0, moved.stderr
        assert [str(m["Subject"]).split(" — ")[1] for _, m in server.received] == [
            "enrollment changed: Omar Haddad, Cook South Training Center"]
        # Back to will-joliet: a confirmation again, although one with that site was queued before.
        write_registrations(example_dir, header + "w25,will-joliet,,\n")
        back = enroll(run, example_dir, "--rebalance", "--commit", "--send")
        assert back.exit_code == 0 and len(server.received) == 2, back.stderr
        text = server.received[1][1].get_body(("plain",)).get_content()
        assert "changed from Cook South Training Center" in text and "Will County Training Center" in text
    finally:
        server.stop()
