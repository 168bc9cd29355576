"""The optimal enrollment (core/enrollment.py's objective), found with HiGHS in lexicographic stages.

Each stage is one linear programme over the same network (a person row: one choice or unplaced; a cohort row:
the people in it = its seats taken). The constraint matrix is a bipartite incidence matrix, totally unimodular, so
every vertex the simplex method returns is a whole-number assignment. Between stages every variable whose reduced
cost is not zero is fixed at the bound it sits on: by complementary slackness what remains is exactly the face of
solutions optimal for the stages so far, and it is still a network, so the next stage's vertex is whole too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from courtsync.core.enrollment import CHOICES, Registration, Seat, Solution

_ZERO = 1e-6   # a reduced cost further from zero than this is not zero (they are whole numbers here)


def solve(registrations: Sequence[Registration], seats_left: Mapping[str, int | None],
          taken: Mapping[str, int] | None = None, stay: Mapping[str, str] | None = None) -> Solution:
    """Assign each registration to one of its choices, optimally for core/enrollment.py's objective.

    `seats_left[c]` is what collaborative `c` can still take (None: no limit); `taken[c]` how many it holds
    already (committed people not in this run: they count for evenness); `stay[w]` the collaborative a person is
    enrolled in, kept when equally good (a rebalance moves as few people as it can).
    """
    taken = dict(taken or {})
    stay = stay or {}
    model = _Model(registrations, seats_left, taken)
    if model.columns:
        model.run_stages(stay)
    return model.solution()


class _Model:
    """The columns: a choice (person, cohort, rank), unplaced (person) and the k-th seat of a cohort."""

    def __init__(self, registrations: Sequence[Registration], seats_left: Mapping[str, int | None],
                 taken: Mapping[str, int]) -> None:
        self.registrations = list(registrations)
        self.taken = taken
        wanted: dict[str, int] = {}
        for reg in self.registrations:
            for cid in reg.choices:
                wanted[cid] = wanted.get(cid, 0) + 1
        self.cohorts = sorted(wanted)
        row_of = {cid: len(self.registrations) + i for i, cid in enumerate(self.cohorts)}
        # (kind, person index, cohort, rank or seat number) per column, in column order.
        self.columns: list[tuple[str, int, str, int]] = []
        self.entries: list[list[tuple[int, float]]] = []
        for i, reg in enumerate(self.registrations):
            for rank, cid in enumerate(reg.choices, start=1):
                if (seats_left.get(cid) if cid in seats_left else 0) != 0:
                    self.columns.append(("choice", i, cid, rank))
                    self.entries.append([(i, 1.0), (row_of[cid], 1.0)])
            self.columns.append(("unplaced", i, "", 0))
            self.entries.append([(i, 1.0)])
        for cid in self.cohorts:
            limit = seats_left.get(cid)
            room = wanted[cid] if limit is None else min(limit, wanted[cid])
            for k in range(1, room + 1):
                self.columns.append(("seat", -1, cid, taken.get(cid, 0) + k))
                self.entries.append([(row_of[cid], -1.0)])
        self.values: list[float] = [1.0 if c[0] == "unplaced" else 0.0 for c in self.columns]

    def run_stages(self, stay: Mapping[str, str]) -> None:
        highs = self._highs()
        regs = self.registrations
        last = len(regs)
        # First one weighted programme whose optimum is lexicographically optimal for stages 1-2 (a person
        # placed outweighs every difference in ranks; a first choice outweighs every difference in seconds):
        # its basis makes the exact stages below start at their optimum. Its weights (up to N^2) are left out
        # of the exact stages, where every cost is a small whole number.
        big = len(regs) + 1
        by_rank = {1: 0.0, 2: float(big - 1), 3: float(big)}
        warm = [float(big * big + big) if kind == "unplaced" else by_rank[n] if kind == "choice" else 0.0
                for kind, _, _, n in self.columns]
        stages = [
            [1.0 if kind == "unplaced" else 0.0 for kind, _, _, _ in self.columns],
            [-1.0 if kind == "choice" and n == 1 else 0.0 for kind, _, _, n in self.columns],
            [-1.0 if kind == "choice" and n == 2 else 0.0 for kind, _, _, n in self.columns],
            [2.0 * n - 1.0 if kind == "seat" else 0.0 for kind, _, _, n in self.columns],
        ]
        if stay:
            # A move: placed elsewhere than the seat held, or left without one.
            stages.append([1.0 if regs[i].worker_id in stay and (kind == "unplaced" or (
                kind == "choice" and stay[regs[i].worker_id] != cid)) else 0.0 for kind, i, cid, _ in self.columns])
        # Ties: a worse rank (unplaced counts as rank 4) costs more the earlier the row.
        stages.append([float((n - 1) * (last - i)) if kind == "choice" else
                       float(CHOICES * (last - i)) if kind == "unplaced" else 0.0
                       for kind, i, _, n in self.columns])
        import numpy as np

        everything = np.arange(len(self.columns), dtype=np.int32)
        highs.changeColsCost(len(warm), everything, np.array(warm))
        self._run(highs, -1)
        for number, costs in enumerate(stages):
            highs.changeColsCost(len(costs), everything, np.array(costs))
            self._run(highs, number)
            if number < len(stages) - 1:
                self._fix_to_optimal_face(highs)
        self.values = list(highs.getSolution().col_value)

    def _highs(self) -> Any:
        import highspy
        import numpy as np

        lp = highspy.HighsLp()
        lp.num_col_ = len(self.columns)
        lp.num_row_ = len(self.registrations) + len(self.cohorts)
        lp.col_cost_ = np.zeros(lp.num_col_)
        lp.col_lower_ = np.zeros(lp.num_col_)
        lp.col_upper_ = np.ones(lp.num_col_)
        lp.row_lower_ = np.array([1.0] * len(self.registrations) + [0.0] * len(self.cohorts))
        lp.row_upper_ = lp.row_lower_.copy()
        starts = [0]
        index: list[int] = []
        value: list[float] = []
        for entries in self.entries:
            for row, coefficient in entries:
                index.append(row)
                value.append(coefficient)
            starts.append(len(index))
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = np.array(starts, dtype=np.int32)
        lp.a_matrix_.index_ = np.array(index, dtype=np.int32)
        lp.a_matrix_.value_ = np.array(value)
        highs = _quiet_highs(highspy)
        highs.setOptionValue("threads", 1)          # one thread: the same steps, the same answer, every run
        highs.setOptionValue("random_seed", 0)
        highs.setOptionValue("solver", "simplex")
        highs.passModel(lp)
        return highs

    @staticmethod
    def _run(highs: Any, stage: int) -> None:
        import highspy

        highs.run()
        status = highs.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:   # the model is always feasible (everyone unplaced)
            raise RuntimeError(f"the enrollment solver stopped at stage {stage + 1}: "
                               f"{highs.modelStatusToString(status)}")

    def _fix_to_optimal_face(self, highs: Any) -> None:
        import numpy as np

        solution = highs.getSolution()
        duals = np.asarray(solution.col_dual)
        lower = np.asarray(highs.getLp().col_lower_)
        upper = np.asarray(highs.getLp().col_upper_)
        to_lower = duals > _ZERO
        to_upper = duals < -_ZERO
        new_lower = np.where(to_upper, upper, lower)
        new_upper = np.where(to_lower, lower, upper)
        changed = np.nonzero((new_lower != lower) | (new_upper != upper))[0].astype(np.int32)
        if len(changed):
            highs.changeColsBounds(len(changed), changed, new_lower[changed], new_upper[changed])

    def solution(self) -> Solution:
        chosen: dict[int, tuple[str, int]] = {}
        for (kind, i, cid, rank), value in zip(self.columns, self.values, strict=True):
            if kind == "choice" and value > 0.5:
                chosen[i] = (cid, rank)
        seats = []
        sizes = {cid: self.taken.get(cid, 0) for cid in self.cohorts}
        sizes.update({cid: n for cid, n in self.taken.items() if cid not in sizes})
        for i, reg in enumerate(self.registrations):
            if i in chosen:
                cid, rank = chosen[i]
                sizes[cid] += 1
                seats.append(Seat(reg.worker_id, cid, rank))
            else:
                seats.append(Seat(reg.worker_id, None, None))
        return Solution(tuple(seats), sizes)


def _quiet_highs(highspy: Any) -> Any:
    """A Highs instance that prints nothing: HiGHS writes its banner to the process's standard output (file
    descriptor 1, not sys.stdout) when the first one is made, which would corrupt `--format json`."""
    import os
    import sys

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            highs = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    highs.setOptionValue("output_flag", False)
    return highs
