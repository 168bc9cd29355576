"""Enrollment: registrations.csv's ranked choices -> the optimal cohorts; commit them as membership; confirm
each to the worker's supervisor of record through the outbox."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from email import policy
from pathlib import Path

from courtsync.config.registrations import load_registrations
from courtsync.context import Context
from courtsync.core.enrollment import Registration, Solution
from courtsync.errors import UsageError
from courtsync.membership import EnrolledWorkers, with_enrollments
from courtsync.models import Enrollment, Session, Worker
from courtsync.notices.letters import clock, holiday_note, long_date
from courtsync.notices.outbox import Delivery, Outbox, Outgoing, Transport, message_id, new_message
from courtsync.notices.render import for_agency, render
from courtsync.notices.subjects import enrollment_subject
from courtsync.notices.transport import mail_transport, sender_address, sender_where

Now = Callable[[], float]
LOCK = "enroll"
WAIT_FOR_LOCK = 60.0   # seconds another commit may hold the store's enrollment before this one gives up


@dataclass(frozen=True)
class Placement:
    """One registered (or enrolled) worker's outcome. status: placed | moved | kept | unplaced."""

    worker: Worker
    status: str
    collaborative_id: str | None
    rank: int | None
    line: int = 0
    reason: str = ""              # why unplaced, for people
    why: str = ""                 # ... as a category: every choice full | no choice open | no choice given
    previous: str | None = None   # moved (or, by a rebalance, unplaced): where they were enrolled
    kind: str | None = None       # the tier registered for (the kind of their open choices)


@dataclass(frozen=True)
class Cohort:
    id: str
    name: str
    capacity: int | None
    size: int        # everyone in it: this run's placements and those who hold a seat already
    this_run: int    # placed (or kept) by this run's registrations

    @property
    def seats_left(self) -> int | None:
        return None if self.capacity is None else self.capacity - self.size


@dataclass
class Plan:
    """The assignment and what it says; `enrolled`/`moved` once committed."""

    source: Path
    as_of: date
    rebalance: bool
    placements: list[Placement]
    cohorts: list[Cohort]
    notes: list[str] = field(default_factory=list)
    committed: bool = False
    enrolled: int = 0
    moved: int = 0
    unplaced_recorded: int = 0   # registered people left without a seat: their listing of that tier is given up

    def count(self, status: str, rank: int | None = None) -> int:
        return sum(p.status == status and (rank is None or p.rank == rank) for p in self.placements)

    @property
    def unplaced(self) -> list[Placement]:
        return [p for p in self.placements if p.status == "unplaced"]

    @property
    def moves(self) -> list[Placement]:
        """Enrolled people this plan puts elsewhere (or, rebalanced out of every seat, nowhere)."""
        return [p for p in self.placements if p.status == "moved" or (p.status == "unplaced" and p.previous)]


def enroll(ctx: Context, today: date, now: Now, registrations: str | None, rebalance: bool, commit: bool) -> Plan:
    """The optimal assignment of `registrations` (default: [roster] registrations), committed when asked: under the
    store's enrollment lock, so two commits at once place everyone once and fill no seat twice."""
    path = Path(registrations).resolve() if registrations else ctx.config.registrations_path
    if not commit:
        return plan(ctx, today, path, rebalance)
    with _turn(ctx):
        fresh = plan(ctx, today, path, rebalance)   # the enrollments as they are now that it is our turn
        rows: list[tuple[str, str | None, str, int | None]] = [
            (p.worker.id, p.collaborative_id, ctx.collaboratives[p.collaborative_id].kind, p.rank)
            for p in fresh.placements if p.status in ("placed", "moved") and p.collaborative_id]
        # Registered and not placed: recorded so, which gives up their workers.csv listing of that tier (the
        # seat the plan counted as free). Someone with no choice open keeps the listing (nothing was freed).
        rows += [(p.worker.id, None, p.kind, None) for p in fresh.unplaced if p.kind]
        fresh.enrolled, fresh.moved, fresh.unplaced_recorded = ctx.store.enrollments.commit(rows, now())
        fresh.committed = True
    return fresh


@contextmanager
def _turn(ctx: Context) -> Iterator[None]:
    """Hold the store's enrollment lock, waiting up to WAIT_FOR_LOCK for another commit to finish."""
    deadline = time.monotonic() + WAIT_FOR_LOCK
    while True:
        with ctx.store.exclusive(LOCK) as held:
            if held:
                yield
                return
        if time.monotonic() > deadline:
            raise UsageError("Another `courtsync enroll --commit` has held this store's enrollment for a minute; "
                             "nothing was committed.", hint="Run again when it has finished.")
        time.sleep(0.2)


def _now_enrolled(ctx: Context) -> EnrolledWorkers:
    """The roster with the enrollments as the store holds them at this moment (not as the command began)."""
    workers = with_enrollments(ctx.roster, ctx.store, ctx.collaboratives).workers
    assert isinstance(workers, EnrolledWorkers)
    return workers


def plan(ctx: Context, today: date, path: Path, rebalance: bool) -> Plan:
    workers = _now_enrolled(ctx)
    rows = load_registrations(path, workers.listed, ctx.collaboratives)
    recorded = workers.enrollments()
    enrolled = {w: e for w, e in recorded.items() if e.collaborative_id is not None}   # those holding a seat
    notes: list[str] = []
    closed = _closed_choices(ctx, today, {c for _, choices, _ in rows for c in choices})
    registrations, kept, passed_over = [], [], []
    for worker_id, choices, line in rows:
        open_choices = tuple(c for c in choices if c not in closed)
        for number, cid in enumerate(choices, start=1):
            if cid in closed:
                passed_over.append(f"{path.name}:{line} choice_{number}: {cid} {closed[cid]}; the choice is "
                                   "passed over")
        reg = Registration(worker_id, open_choices, line)
        if worker_id in enrolled and not rebalance:
            kept.append((reg, choices))
        else:
            registrations.append((reg, choices))
    notes += passed_over
    seats_left, taken = _seats(ctx, workers, [r for r, _ in registrations])
    stay = {r.worker_id: e.collaborative_id for r, _ in registrations
            if (e := enrolled.get(r.worker_id)) is not None and e.collaborative_id is not None}
    from courtsync.solver import solve

    solution = solve([r for r, _ in registrations], seats_left, taken, stay)
    placements = [_kept(workers, reg, choices, enrolled[reg.worker_id]) for reg, choices in kept]
    placements += _placements(ctx, workers, registrations, solution, enrolled, closed)
    placements.sort(key=lambda p: p.line)
    registered = {r[0] for r in rows}
    elsewhere = [e for w, e in enrolled.items() if w not in registered]
    if elsewhere:
        notes.append(f"{len(elsewhere)} people enrolled earlier are not in {path.name}; they keep their seats")
    cohorts = _cohorts(ctx, solution, taken, {c for _, cs, _ in rows for c in cs}
                       | {e.collaborative_id for e in enrolled.values() if e.collaborative_id})
    notes += [f"{c.id} holds {c.size} people but has capacity {c.capacity}; `courtsync enroll --rebalance` may "
              "move some" for c in cohorts if c.seats_left is not None and c.seats_left < 0]
    return Plan(path, today, rebalance, placements, cohorts, notes)


def _closed_choices(ctx: Context, today: date, chosen: Collection[str]) -> dict[str, str]:
    """Of the collaboratives chosen, those nobody can be placed in from today: why, per id."""
    closed = {}
    for cid in sorted(chosen):
        if not any(s.active and s.day >= today for s in ctx.sessions[cid]):
            closed[cid] = f"has no sessions on or after {today}"
    return closed


def _seats(ctx: Context, workers: EnrolledWorkers, registrations: list[Registration]
           ) -> tuple[dict[str, int | None], dict[str, int]]:
    """(seats each collaborative can still take, people it holds who are not in this run). A person in this run
    gives up the seat they hold now in the tier they register for."""
    held = dict(workers.members())
    for reg in registrations:
        kinds = {ctx.collaboratives[c].kind for c in reg.choices}
        for cid in workers[reg.worker_id].collaboratives:
            if cid in ctx.collaboratives and ctx.collaboratives[cid].kind in kinds:
                held[cid] -= 1
    left: dict[str, int | None] = {}
    for cid, collab in ctx.collaboratives.items():
        left[cid] = None if collab.capacity is None else max(0, collab.capacity - held.get(cid, 0))
    return left, {c: n for c, n in held.items() if n > 0}


def _kept(workers: Mapping[str, Worker], reg: Registration, choices: tuple[str, ...], e: Enrollment) -> Placement:
    rank = choices.index(e.collaborative_id) + 1 if e.collaborative_id in choices else None
    return Placement(workers[reg.worker_id], "kept", e.collaborative_id, rank, reg.line)


def _placements(ctx: Context, workers: Mapping[str, Worker], registrations: list[tuple[Registration, tuple[str, ...]]],
                solution: Solution, enrolled: Mapping[str, Enrollment], closed: Mapping[str, str]) -> list[Placement]:
    out = []
    for (reg, choices), seat in zip(registrations, solution.seats, strict=True):
        worker = workers[reg.worker_id]
        kind = ctx.collaboratives[reg.choices[0]].kind if reg.choices else None
        before = enrolled.get(reg.worker_id)
        if seat.collaborative_id is None:
            why, reason = _why_unplaced(ctx, choices, closed)
            out.append(Placement(worker, "unplaced", None, None, reg.line, reason=reason, why=why,
                                 previous=before.collaborative_id if before else None, kind=kind))
            continue
        rank = choices.index(seat.collaborative_id) + 1
        if before is None:
            out.append(Placement(worker, "placed", seat.collaborative_id, rank, reg.line, kind=kind))
        elif before.collaborative_id == seat.collaborative_id:
            out.append(Placement(worker, "kept", seat.collaborative_id, rank, reg.line, kind=kind))
        else:
            out.append(Placement(worker, "moved", seat.collaborative_id, rank, reg.line,
                                 previous=before.collaborative_id, kind=kind))
    return out


def _why_unplaced(ctx: Context, choices: tuple[str, ...], closed: Mapping[str, str]) -> tuple[str, str]:
    """(category, what to tell a person)."""
    if not choices:
        return "no choice given", "no choice given"
    shut = [f"{c} {closed[c]}" if c in closed else f"{c} has capacity 0" for c in choices
            if c in closed or ctx.collaboratives[c].capacity == 0]
    if len(shut) == len(choices):
        return "no choice open", "no choice open: " + "; ".join(shut)
    return "every choice full", "every choice full: " + ", ".join(choices)


def _cohorts(ctx: Context, solution: Solution, taken: Mapping[str, int], ids: set[str]) -> list[Cohort]:
    """Each cohort's size: who holds a seat outside this run's optimisation (`taken`: listed in workers.csv and
    not registered, or enrolled earlier and kept) and who the optimisation places there."""
    this_run: dict[str, int] = {}
    for seat in solution.seats:
        if seat.collaborative_id:
            this_run[seat.collaborative_id] = this_run.get(seat.collaborative_id, 0) + 1
    return [Cohort(cid, ctx.collaboratives[cid].name, ctx.collaboratives[cid].capacity,
                   taken.get(cid, 0) + this_run.get(cid, 0), this_run.get(cid, 0))
            for cid in sorted(ids) if cid in ctx.collaboratives]


# --- confirmations -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Confirmation:
    worker: Worker
    supervisor: Worker
    said: str        # what it says: collaborative, revision and a digest of the site and its dates
    change: str      # new | moved | dates
    subject: str
    text: str
    html: str

    @property
    def key(self) -> str:
        return f"enrollment:{self.worker.id}:{self.said}"


def confirmations(ctx: Context, today: date) -> tuple[list[Confirmation], list[str]]:
    """A confirmation for each committed enrollment whose supervisor has not been told what it is now (a new
    enrollment, a move, or its sessions changed), and notes for those that cannot be sent."""
    workers = _now_enrolled(ctx)
    env = for_agency(ctx.config.base_dir)
    agency = ctx.config.agency
    out, notes = [], []
    for worker_id, e in workers.enrollments().items():
        if worker_id not in workers or e.collaborative_id is None:
            continue
        worker = workers[worker_id]
        boss = workers.listed.get(worker.supervisor_id) if worker.supervisor_id else None
        if boss is None:
            notes.append(f"{worker_id} has no supervisor_id in workers.csv: no confirmation of their enrollment "
                         "can go; add their supervisor and run with --send again")
            continue
        collab = ctx.collaboratives[e.collaborative_id]
        sessions = [s for s in ctx.sessions[collab.id] if s.active and s.day >= today]
        said = f"{collab.id}:{e.revision}:{_digest(collab.name, collab.location, sessions, boss.email)}"
        if e.confirmed == said:
            continue
        change = "new" if e.confirmed is None else "dates" if e.confirmed.split(":")[:2] == said.split(":")[:2] \
            else "moved"
        previous = ctx.collaboratives.get(e.previous) if e.previous and change == "moved" else None
        context = {"agency": agency, "worker": worker, "supervisor": boss, "collaborative": collab,
                   "sessions": [_when(s) for s in sessions], "change": change, "rank": e.rank,
                   "previous": previous, "contact": _contact(ctx)}
        out.append(Confirmation(worker, boss, said, change,
                                enrollment_subject(agency.name if agency else None, worker.name, collab.name, change),
                                render(env, "enrollment.txt.j2", **context),
                                render(env, "enrollment.html.j2", **context)))
    return out, notes


def _digest(name: str, location: str | None, sessions: list[Session], recipient: str) -> str:
    said = "|".join([name, location or "", recipient.lower(),
                     *(f"{s.start.isoformat()}-{s.end.isoformat()}" for s in sessions)])
    return hashlib.sha256(said.encode()).hexdigest()[:16]


def _when(s: Session) -> str:
    """"Thursday, June 10, 2027, 9:00 a.m. to 4:00 p.m." as the letters write it, a court holiday flagged."""
    flag = f" — {holiday_note(s.holiday)}" if s.holiday else ""
    return f"{long_date(s.day)}, {clock(s.start.time())} to {clock(s.end.time())}{flag}"


def _contact(ctx: Context) -> str:
    agency = ctx.config.agency
    parts = [agency.unit or agency.name] if agency else []
    if agency and agency.phone:
        parts.append(agency.phone)
    if ctx.config.smtp is not None:
        parts.append(ctx.config.smtp.sender)
    return ", ".join(parts) or "the training office"


def mail_for(ctx: Context) -> Transport:
    """How confirmations will go ([smtp], or [exchange] send_as): asked before anything is committed, so a
    missing setting or password variable stops the command while nothing has changed yet."""
    return mail_transport(ctx.config, instead="Or leave out --send: `courtsync enroll --commit` records the "
                                              "enrollment, and a later run with --send confirms it.")


def send_confirmations(ctx: Context, today: date, now: Now, transport: Transport
                       ) -> tuple[int, int, list[str], Delivery]:
    """Queue each confirmation once (key: worker and what it says), withdrawing one still waiting that it
    replaces, then deliver what is pending. Returns (queued, already queued, notes, delivery)."""
    found, notes = confirmations(ctx, today)
    outbox = Outbox(ctx.store.ledger, now)
    messages = []
    for c in found:
        key = c.key
        msg = new_message(sender_address(ctx.config), c.supervisor.email, c.subject,
                          message_id(key, c.supervisor.email), now(), lambda: sender_where(ctx.config),
                          "the confirmation's subject")
        msg.set_content(c.text, cte="quoted-printable")
        msg.add_alternative(c.html, subtype="html", cte="quoted-printable")
        messages.append(Outgoing(key=key, recipient=c.supervisor.email, subject=c.subject,
                                 message=msg.as_bytes(policy=policy.SMTP),
                                 meta={"worker": c.worker.id, "said": c.said}))
    for c in found:   # an older confirmation not sent yet (the mail server was down) would tell the past
        ctx.store.ledger.withdraw(f"enrollment:{c.worker.id}:", {c.key})
    queued, already = outbox.queue(messages)
    for c in found:   # queued: the outbox sends it once, whatever happens to this run from here
        ctx.store.enrollments.confirmed(c.worker.id, c.said)
    # Every confirmation still waiting, this run's and any an earlier run queued and could not deliver.
    waiting = {r.key.split("#", 1)[0] for r in ctx.store.ledger.rows("pending") if r.key.startswith("enrollment:")}
    delivery = outbox.deliver(transport, keys=waiting, scope="enrollment:")
    return queued, already, notes, delivery
