"""Who belongs to which collaborative: workers.csv's lists with the committed enrollments applied."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from courtsync.models import Collaborative, Enrollment, Roster, Worker
from courtsync.store.base import Storage


class EnrolledWorkers(Mapping[str, Worker]):
    """workers.csv's rows with each committed enrollment applied (`courtsync enroll --commit`): an enrolled
    worker's collaboratives of the enrolled one's kind are replaced by it; the other tiers stay as listed. One
    worker's enrollment is read when that worker is asked for; everyone's at once when the roster is walked."""

    def __init__(self, listed: Mapping[str, Worker], store: Storage,
                 collaboratives: Mapping[str, Collaborative]) -> None:
        self.listed = listed
        self._store = store
        self._collaboratives = collaboratives
        self._all: dict[str, Enrollment] | None = None
        self._one: dict[str, Enrollment | None] = {}
        self._counts: dict[str, int] | None = None

    def enrollments(self) -> dict[str, Enrollment]:
        if self._all is None:
            self._all = {w: e for w, e in self._store.enrollments.all().items() if self._known(e)}
        return self._all

    def _enrollment(self, worker_id: str) -> Enrollment | None:
        if self._all is not None:
            return self._all.get(worker_id)
        if worker_id not in self._one:
            found = self._store.enrollments.of(worker_id)
            self._one[worker_id] = found if found and self._known(found) else None
        return self._one[worker_id]

    def _known(self, e: Enrollment) -> bool:
        """An enrollment in a collaborative dropped from courtsync.toml since is ignored."""
        return e.collaborative_id is None or e.collaborative_id in self._collaboratives

    def apply(self, worker: Worker, enrollment: Enrollment | None) -> Worker:
        if enrollment is None:
            return worker
        kept = tuple(c for c in worker.collaboratives if c != enrollment.collaborative_id
                     and (c not in self._collaboratives or self._collaboratives[c].kind != enrollment.kind))
        placed = (enrollment.collaborative_id,) if enrollment.collaborative_id else ()
        return worker._replace(collaboratives=(*kept, *placed))

    def __getitem__(self, worker_id: str) -> Worker:
        return self.apply(self.listed[worker_id], self._enrollment(worker_id))

    def __contains__(self, worker_id: object) -> bool:
        return worker_id in self.listed

    def __iter__(self) -> Iterator[str]:
        self.enrollments()   # walking everyone: one read, not one per worker
        return iter(self.listed)

    def __len__(self) -> int:
        return len(self.listed)

    def with_calendar(self) -> list[Worker]:
        quick = getattr(self.listed, "with_calendar", None)
        listed = quick() if quick is not None else [w for w in self.listed.values() if w.calendar]
        if listed:
            self.enrollments()   # one read for all of them, not one each
        return [self[w.id] for w in listed]

    def members(self) -> dict[str, int]:
        """How many people each collaborative holds (a seat each), enrollments applied."""
        if self._counts is None:
            counts: dict[str, int] = {}
            for worker_id in self:
                for cid in self[worker_id].collaboratives:
                    counts[cid] = counts.get(cid, 0) + 1
            self._counts = counts
        return self._counts


def with_enrollments(roster: Roster, store: Storage, collaboratives: Mapping[str, Collaborative]) -> Roster:
    """`roster` with the enrollments `store` holds now (each command, each request of `serve`, reads them)."""
    listed = roster.workers.listed if isinstance(roster.workers, EnrolledWorkers) else roster.workers
    return Roster(workers=EnrolledWorkers(listed, store, collaboratives), load_caseload=lambda: roster.caseload)
