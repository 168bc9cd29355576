"""`courtsync enroll`'s output: the assignment and its summary as a table, JSON or CSV."""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

from courtsync.app.enroll import Placement, Plan
from courtsync.presenters.formats import to_csv, to_json, to_table

ASSIGNMENT_COLUMNS = ("worker_id", "worker_name", "supervisor_id", "status", "collaborative_id", "choice",
                      "previous", "reason")
TABLE_ROWS_AT_MOST = 200   # more than this (a state's registrations) and the table shows the summary only


def _row(p: Placement) -> dict[str, Any]:
    return {"worker_id": p.worker.id, "worker_name": p.worker.name, "supervisor_id": p.worker.supervisor_id,
            "status": p.status, "collaborative_id": p.collaborative_id, "choice": p.rank, "previous": p.previous,
            "reason": p.reason or None, "line": p.line}


def summary(plan: Plan) -> dict[str, Any]:
    placed = [p for p in plan.placements if p.status != "unplaced"]
    ranks = Counter(p.rank for p in placed)
    sizes = [c.size for c in plan.cohorts]
    reasons = Counter(p.why for p in plan.unplaced)
    return {"registered": len(plan.placements), "placed": len(placed),
            "first_choice": ranks[1], "second_choice": ranks[2], "third_choice": ranks[3],
            "not_a_choice": ranks[None],
            "first_choice_share": round(ranks[1] / len(plan.placements), 4) if plan.placements else None,
            "kept": plan.count("kept"), "moved": plan.count("moved"), "unplaced": len(plan.unplaced),
            "unplaced_why": dict(sorted(reasons.items())),
            "cohort_sizes": {"min": min(sizes), "mean": round(statistics.fmean(sizes), 2), "max": max(sizes)}
            if sizes else None}


def as_json(plan: Plan) -> dict[str, Any]:
    return {"as_of": plan.as_of.isoformat(), "registrations": str(plan.source), "rebalance": plan.rebalance,
            "committed": plan.committed,
            **({"enrolled": plan.enrolled, "moved": plan.moved, "unplaced_recorded": plan.unplaced_recorded}
               if plan.committed else {}),
            "summary": summary(plan),
            "cohorts": [{"id": c.id, "name": c.name, "capacity": c.capacity, "size": c.size,
                         "this_run": c.this_run, "held_already": c.size - c.this_run, "seats_left": c.seats_left}
                        for c in plan.cohorts],
            "assignment": [_row(p) for p in plan.placements],
            "moves": [{"worker_id": p.worker.id, "from": p.previous, "to": p.collaborative_id} for p in plan.moves],
            "notes": plan.notes}


def render(plan: Plan, fmt: str) -> str:
    if fmt == "json":
        return to_json(as_json(plan))
    if fmt == "csv":
        return to_csv(ASSIGNMENT_COLUMNS, ([_row(p)[c] for c in ASSIGNMENT_COLUMNS] for p in plan.placements))
    return _table(plan)


def _ordinal(rank: int | None) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(rank, "-") if rank else "-"


def _table(plan: Plan) -> str:
    s = summary(plan)
    out = []
    if len(plan.placements) <= TABLE_ROWS_AT_MOST:
        rows = [(p.worker.id, p.worker.name, p.status, p.collaborative_id or "-", _ordinal(p.rank),
                 p.reason or (f"from {p.previous}" if p.previous else "")) for p in plan.placements]
        out.append(to_table(("worker", "name", "status", "collaborative", "choice", "note"), rows) + "\n")
    else:
        out.append(f"({s['registered']} registrations: --format csv or json lists every assignment)\n")
    share = f" ({s['first_choice_share']:.0%})" if s["first_choice_share"] is not None else ""
    out.append(f"\nregistered {s['registered']}: placed {s['placed']} (1st choice {s['first_choice']}{share}, "
               f"2nd {s['second_choice']}, 3rd {s['third_choice']}"
               + (f", not among their choices {s['not_a_choice']}" if s["not_a_choice"] else "")
               + f"), unplaced {s['unplaced']}\n")
    if plan.count("kept") or plan.count("moved"):
        out.append(f"already enrolled: {s['kept']} keep their seats, {s['moved']} "
                   f"{'moved' if plan.committed else 'would move'}\n")
    sizes = s["cohort_sizes"]
    if sizes:
        out.append(f"cohort sizes: min {sizes['min']}, mean {sizes['mean']:g}, max {sizes['max']}\n\n")
        out.append(to_table(("collaborative", "size", "placed now", "held already", "capacity", "seats left"),
                            [(c.id, c.size, c.this_run, c.size - c.this_run, "-" if c.capacity is None else c.capacity,
                              "-" if c.seats_left is None else c.seats_left) for c in plan.cohorts]) + "\n")
        out.append("(held already: listed in workers.csv and not registered, or enrolled before and kept)\n")
    if plan.unplaced:
        out.append("\nunplaced:\n" + "".join(f"  {p.worker.id} {p.worker.name} (line {p.line}): {p.reason}\n"
                                             for p in plan.unplaced))
    if plan.moves:
        out.append(f"\n{'moved' if plan.committed else 'would move'}:\n"
                   + "".join(f"  {p.worker.id} {p.worker.name}: {p.previous} -> "
                             f"{p.collaborative_id or 'no seat (' + p.reason + ')'}\n" for p in plan.moves))
    if plan.committed:
        out.append(f"\ncommitted: {plan.enrolled} enrolled, {plan.moved} moved"
                   + (f", {plan.unplaced_recorded} registered without a seat (their workers.csv listing of that "
                      "tier is given up)" if plan.unplaced_recorded else "") + "\n")
    else:
        out.append("\n(preview only: --commit records it as membership; --send confirms what is committed to each "
                   "supervisor)\n")
    return "".join(out)
