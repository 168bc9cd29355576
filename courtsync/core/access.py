"""Who may see what in the web service: a worker their own answers, a supervisor those of their reports down
the tree, a liaison their courts, an admin everything. Values in, a decision out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from courtsync.models import Worker


@dataclass(frozen=True)
class Viewer:
    """A signed-in person as the service sees them: no name, no email kept beyond the lookup."""

    worker_id: str | None            # their roster row, if they have one
    admin: bool = False
    workers: frozenset[str] = frozenset()   # whose answers they may see: their own and their reports' (all down)
    courts: frozenset[str] = frozenset()    # the courts they are liaison for

    def may_see_worker(self, worker_id: str) -> bool:
        return self.admin or worker_id in self.workers

    def may_see_court(self, court_id: str) -> bool:
        return self.admin or court_id in self.courts


EVERYONE = Viewer(worker_id=None, admin=True)   # auth = "none": a demo on one machine


def viewer_for(email: str, workers: Mapping[str, Worker], liaisons: Iterable[tuple[str, Iterable[str]]],
               admins: Iterable[str]) -> Viewer | None:
    """The viewer signed in as `email` (compared without case), or None when it is no one courtsync knows."""
    wanted = email.strip().casefold()
    if not wanted:
        return None
    admin = any(a.casefold() == wanted for a in admins)
    courts = frozenset(c for e, cs in liaisons if e.casefold() == wanted for c in cs)
    row = next((w for w in workers.values() if w.email and w.email.casefold() == wanted), None)
    if row is None and not admin and not courts:
        return None
    seen = reports_of(row.id, workers) if row is not None else frozenset()
    return Viewer(worker_id=row.id if row else None, admin=admin, workers=seen, courts=courts)


def reports_of(worker_id: str, workers: Mapping[str, Worker]) -> frozenset[str]:
    """This worker and everyone below them in the supervisor tree (a loop in the tree ends the walk)."""
    below: dict[str, list[str]] = {}
    for w in workers.values():
        if w.supervisor_id:
            below.setdefault(w.supervisor_id, []).append(w.id)
    found, todo = {worker_id}, [worker_id]
    while todo:
        for child in below.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return frozenset(found)
