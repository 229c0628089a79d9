"""The peer's answers are checked by structure: another schema's bytes, the seed's users in the server's order."""

import json
from datetime import timedelta, timezone

import pytest

from benchmarks.database import BenchError
from benchmarks.operations import PAGE_SIZE, make_seed, newest_first
from benchmarks.peer import build_operations, check_structure, expected_answers

SEED = make_seed(50)


def page_answer(*, reverse: bool = False, end_cursor: str | None = None) -> str:
    """A page as PostGraphile writes it: its own cursors, times with an offset PostgreSQL formats."""
    users = newest_first(SEED)[:PAGE_SIZE]
    if reverse:
        users.reverse()
    edges = [
        {
            "cursor": f"cursor-{i}",
            "node": {"id": str(u.id), "fullName": u.full_name, "createdAt": u.created_at.isoformat()},
        }
        for i, u in enumerate(users)
    ]
    page_info = {"hasNextPage": True, "endCursor": end_cursor or edges[-1]["cursor"]}
    return json.dumps({"data": {"allUsers": {"edges": edges, "pageInfo": page_info}}})


def test_the_page_in_the_servers_order_passes() -> None:
    check_structure("users", 200, page_answer(), expected_answers(SEED)["users"])


@pytest.mark.parametrize("answer", [page_answer(reverse=True), page_answer(end_cursor="cursor-0")])
def test_another_order_or_an_end_cursor_that_is_not_the_last_fails(answer: str) -> None:
    with pytest.raises(BenchError, match="unexpected answer"):
        check_structure("users", 200, answer, expected_answers(SEED)["users"])


def test_me_compares_the_creation_time_as_an_instant() -> None:
    known = SEED.known
    written_in_another_zone = known.created_at.astimezone(timezone(timedelta(hours=2))).isoformat()
    me = {"id": str(known.id), "fullName": known.full_name, "email": known.email, "createdAt": ""}
    answer = json.dumps({"data": {"me": {**me, "createdAt": written_in_another_zone}}})

    check_structure("me", 200, answer, expected_answers(SEED)["me"])
    with pytest.raises(BenchError, match="HTTP 500"):
        check_structure("me", 500, answer, expected_answers(SEED)["me"])


def test_wrk_looks_for_every_id_of_ten_and_no_errors() -> None:
    ten = build_operations(SEED)["ten"]

    assert ten.needles == tuple(f'"{u.id}"' for u in SEED.ten)
    assert ten.absent == ('"errors"',)
    assert json.loads(ten.body)["query"].count("userById(id:") == 10
