"""Ranked choices -> cohorts: the values, the objective and the first-come baseline (courtsync/solver.py finds
the optimum).

The objective, in the order product.md gives it:

1. as many people placed as the capacities allow;
2. then as many first choices as possible, then second (third follows: placed - first - second);
3. then cohorts as even as the choices allow: the sum of squared cohort sizes is least;
4. then, with `rebalance`, as few enrolled people moved as possible;
5. then the earlier registrations (the row order of registrations.csv) get the better choices: among equally good
   assignments, the least sum over people of (rank - 1) x (rows from theirs to the end), unplaced counting as
   rank 4; HiGHS runs on one thread with a fixed seed, so the same input always gives the same answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

CHOICES = 3


@dataclass(frozen=True, slots=True)
class Registration:
    """One row of registrations.csv, its choices in rank order (closed or unknown ones already removed)."""

    worker_id: str
    choices: tuple[str, ...]
    line: int = 0


@dataclass(frozen=True, slots=True)
class Seat:
    """Where one registered person goes: a collaborative and the rank of that choice (None: unplaced)."""

    worker_id: str
    collaborative_id: str | None
    rank: int | None


@dataclass(frozen=True)
class Solution:
    """The assignment, in registration order, and the size of every cohort counted (committed seats included)."""

    seats: tuple[Seat, ...]
    sizes: dict[str, int] = field(default_factory=dict)

    def key(self) -> tuple[int, ...]:
        """The objective as a tuple to minimise: (-placed, -first, -second, sum of squared sizes)."""
        ranks = [s.rank for s in self.seats]
        return (-sum(r is not None for r in ranks), -ranks.count(1), -ranks.count(2),
                sum(n * n for n in self.sizes.values()))


def first_come(registrations: Sequence[Registration], seats_left: Mapping[str, int | None]) -> Solution:
    """The spreadsheet way, for comparison: in row order, each person gets the best choice with a seat left."""
    left = dict(seats_left)
    seats = []
    sizes: dict[str, int] = {}
    for reg in registrations:
        for rank, cid in enumerate(reg.choices, start=1):
            room = left.get(cid, 0)
            if room is None or room > 0:
                if room is not None:
                    left[cid] = room - 1
                sizes[cid] = sizes.get(cid, 0) + 1
                seats.append(Seat(reg.worker_id, cid, rank))
                break
        else:
            seats.append(Seat(reg.worker_id, None, None))
    return Solution(tuple(seats), sizes)
