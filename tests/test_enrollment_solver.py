"""The enrollment optimisation: hand-checked cases (several where first come, first served is wrong) and a
property test against an independent brute force on random small instances."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from courtsync.core.enrollment import Registration, Seat, Solution, first_come
from courtsync.solver import solve


def regs(*rows: tuple[str, ...]) -> list[Registration]:
    return [Registration(f"w{i + 1}", tuple(r), i + 2) for i, r in enumerate(rows)]


def where(solution: Solution) -> dict[str, str | None]:
    return {s.worker_id: s.collaborative_id for s in solution.seats}


def test_greedy_leaves_someone_out_that_the_optimum_places() -> None:
    # w1 takes A first come, first served; w2 wanted only A. Optimal: w1 to B (2nd), w2 to A.
    r = regs(("A", "B"), ("A",))
    caps = {"A": 1, "B": 1}
    assert where(first_come(r, caps)) == {"w1": "A", "w2": None}
    assert where(solve(r, caps)) == {"w1": "B", "w2": "A"}


def test_a_chain_of_second_choices_places_everyone() -> None:
    r = regs(("A", "B"), ("B", "C"), ("B",))
    caps = {"A": 1, "B": 1, "C": 1}
    assert where(first_come(r, caps))["w3"] is None
    assert where(solve(r, caps)) == {"w1": "A", "w2": "C", "w3": "B"}


def test_everyone_placed_then_the_most_first_choices() -> None:
    # Greedy: w1 A, w2 C (2nd), w3 nothing left. Optimal: w1 B (2nd), w2 A, w3 C: all three placed, two firsts.
    r = regs(("A", "B"), ("A", "C"), ("C", "A"))
    caps = {"A": 1, "B": 1, "C": 1}
    assert where(first_come(r, caps)) == {"w1": "A", "w2": "C", "w3": None}
    solution = solve(r, caps)
    assert where(solution) == {"w1": "B", "w2": "A", "w3": "C"}
    assert solution.key()[:3] == (-3, -2, -1)


def test_a_first_choice_outweighs_any_number_of_second_choices() -> None:
    # Least total rank (and first come, first served) gives 1 first choice and 3 seconds; the lexicographic
    # objective takes 2 firsts, 1 second and 1 third.
    r = regs(("D", "A", "B"), ("D", "B", "C"), ("B", "C", "D"), ("D", "A", "C"))
    caps = {c: 1 for c in "ABCD"}
    assert first_come(r, caps).key()[:3] == (-4, -1, -3)
    solution = solve(r, caps)
    assert solution.key()[:3] == (-4, -2, -1)
    # Of the assignments with that objective, w2 at D (w1 2nd, w4 3rd) weighs the earlier rows' ranks least.
    assert where(solution) == {"w1": "A", "w2": "D", "w3": "B", "w4": "C"}


def test_even_cohorts_when_the_ranks_are_tied() -> None:
    # One seat at X; whoever takes it, the other two go to their 2nd choice. p to X leaves q and r both at B
    # (sizes 1, 2); q to X spreads them (1, 1, 1). Of q and r, the earlier row gets X.
    r = regs(("X", "A"), ("X", "B"), ("X", "B"))
    caps = {"X": 1, "A": None, "B": None}
    assert where(first_come(r, caps)) == {"w1": "X", "w2": "B", "w3": "B"}
    assert where(solve(r, caps)) == {"w1": "A", "w2": "X", "w3": "B"}


def test_ties_go_to_the_earlier_registration() -> None:
    r = regs(("A", "B"), ("A", "B"), ("A", "B"))
    caps = {"A": 1, "B": None}
    assert where(solve(r, caps)) == {"w1": "A", "w2": "B", "w3": "B"}


def test_capacity_zero_and_no_choice_leave_people_unplaced() -> None:
    r = regs(("A",), (), ("B", "A"))
    caps = {"A": 0, "B": 1}
    assert where(solve(r, caps)) == {"w1": None, "w2": None, "w3": "B"}


def test_people_already_enrolled_count_for_evenness() -> None:
    # One of the two gets C, the other its 2nd choice (a tie in ranks). A already holds 3 people who are not in
    # this run, so w2 at B is the more even: w1 takes C although w2 would have had it by row order.
    r = regs(("C", "A"), ("C", "B"))
    caps = {"A": None, "B": None, "C": 1}
    solution = solve(r, caps, taken={"A": 3})
    assert where(solution) == {"w1": "C", "w2": "B"}
    assert solution.sizes == {"A": 3, "B": 1, "C": 1}


def test_a_rebalance_moves_as_few_as_it_can() -> None:
    r = regs(("A", "B"), ("A", "B"))
    caps = {"A": 1, "B": 1}
    # w2 holds A already: keeping it there is as good as any, so w2 stays and w1 goes to B.
    assert where(solve(r, caps, stay={"w2": "A"})) == {"w1": "B", "w2": "A"}
    assert where(solve(r, caps)) == {"w1": "A", "w2": "B"}


def test_the_same_input_gives_the_same_answer() -> None:
    import random

    rnd = random.Random(5)
    ids = [f"c{i}" for i in range(12)]
    r = [Registration(f"w{i}", tuple(rnd.sample(ids, 3))) for i in range(300)]
    caps = {c: 24 for c in ids}
    first = solve(r, caps)
    assert all(solve(r, caps) == first for _ in range(3))


# --- property: the solver's objective equals a brute force's on every small instance ----------------------------


def brute_force(registrations: Sequence[Registration], caps: Mapping[str, int | None],
                taken: Mapping[str, int]) -> tuple[int, ...]:
    """Every assignment (each person: one of their choices or none) within capacity; the best objective."""
    best: tuple[int, ...] | None = None
    options = [[(c, n) for n, c in enumerate(r.choices, start=1)] + [(None, None)] for r in registrations]
    cohorts = {c for r in registrations for c in r.choices} | set(taken)
    for combo in itertools.product(*options):
        new: dict[str, int] = {}
        for cid, _ in combo:
            if cid is not None:
                new[cid] = new.get(cid, 0) + 1
        if any(caps.get(c) is not None and n > caps[c] for c, n in new.items()):  # type: ignore[operator]
            continue
        seats = tuple(Seat(r.worker_id, cid, rank) for r, (cid, rank) in zip(registrations, combo, strict=True))
        key = Solution(seats, {c: taken.get(c, 0) + new.get(c, 0) for c in cohorts}).key()
        best = key if best is None or key < best else best
    assert best is not None
    return best


COHORTS = ["A", "B", "C", "D"]


@st.composite
def instances(draw: st.DrawFn) -> tuple[list[Registration], dict[str, int | None], dict[str, int]]:
    cohorts = COHORTS[:draw(st.integers(1, 4))]
    caps = {c: draw(st.one_of(st.none(), st.integers(0, 3))) for c in cohorts}
    taken = {c: draw(st.integers(0, 3)) for c in cohorts if draw(st.booleans())}
    people = draw(st.integers(1, 7))
    rows = [Registration(f"w{i}", tuple(draw(st.permutations(cohorts))[:draw(st.integers(0, min(3, len(cohorts))))]))
            for i in range(people)]
    return rows, caps, taken


@settings(max_examples=150, deadline=None)
@given(instances())
def test_the_objective_matches_a_brute_force(instance: tuple[list[Registration], dict[str, int | None],
                                                              dict[str, int]]) -> None:
    rows, caps, taken = instance
    solution = solve(rows, caps, taken)
    cohorts = {c for r in rows for c in r.choices} | set(taken)
    assert Solution(solution.seats, {c: solution.sizes.get(c, 0) for c in cohorts}).key() == \
        brute_force(rows, caps, taken)
    for seat, reg in zip(solution.seats, rows, strict=True):   # a real assignment: a choice, within capacity
        assert seat.collaborative_id is None or reg.choices[seat.rank - 1] == seat.collaborative_id  # type: ignore[operator]
    for c, cap in caps.items():
        assert cap is None or solution.sizes.get(c, 0) - taken.get(c, 0) <= cap
