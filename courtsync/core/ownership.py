"""PURE: which workers a calendar item belongs to, and why (product.md 'How a hearing belongs to a worker')."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from courtsync.models import BusyItem, CaseAssignment, Worker


class Matcher:
    """Attendee/organizer email, a case number in caseload.csv, or the worker's own calendar."""

    def __init__(self, workers: Iterable[Worker], caseload: Iterable[CaseAssignment]) -> None:
        self.by_email: dict[str, str] = {w.email.lower(): w.id for w in workers}
        self.by_case: dict[str, list[str]] = {}
        for c in caseload:
            ids = self.by_case.setdefault(c.case_number.upper(), [])
            if c.worker_id not in ids:
                ids.append(c.worker_id)

    @classmethod
    def from_tables(cls, by_email: dict[str, str], by_case: dict[str, list[str]]) -> Matcher:
        """A matcher from the tables of an earlier one (as cached)."""
        matcher = cls((), ())
        matcher.by_email, matcher.by_case = by_email, by_case
        return matcher

    def reasons(self, item: BusyItem, owner: str | None, mailbox: bool = False) -> Mapping[str, str]:
        """worker id -> why the item is theirs. Everything on a person's own calendar (a calendar file or a
        mailbox) is theirs alone; attendees and case numbers are matched on court feeds only."""
        if owner is not None:
            return {owner: "own calendar"}
        if mailbox:   # a mailbox source names the mailbox each item came from
            return {wid: "own Outlook calendar" for wid in item.worker_ids}
        found: dict[str, str] = {}
        for email in item.attendees:
            wid = self.by_email.get(email)
            if wid and wid not in found:
                found[wid] = f"attendee {email}"
        for case in item.case_numbers:
            for wid in self.by_case.get(case.upper(), ()):
                if wid not in found:
                    found[wid] = f"case {case} in caseload.csv"
        return found

    def owners(self, item: BusyItem, owner: str | None, mailbox: bool = False) -> tuple[str, ...]:
        if owner is None and not mailbox and not item.attendees and not item.case_numbers:
            return ()
        return tuple(sorted(self.reasons(item, owner, mailbox)))
