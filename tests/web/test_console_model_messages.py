"""Validation problems raised by model layers (unit registry, patrol plan) are shown in the
page's language, not as the model's English sentence."""

from __future__ import annotations

import pytest

from web.patrol.messages import problem_text as patrol_text
from web.patrol.model import Checkpoint, PatrolPlan, PatrolPlanError, Route, RoutePoint
from web.units import UnitError, parse_unit
from web.units.messages import problem_text as unit_text

from console_helpers import login, post_form


def _unit_problems(values):  # type: ignore[no-untyped-def]
    with pytest.raises(UnitError) as err:
        parse_unit(values)
    return err.value.problems


def test_unit_form_shows_a_bad_phone_in_chinese(client, services) -> None:  # type: ignore[no-untyped-def]
    login(client, "admin1")
    resp = post_form(client, "/units/new", "/units/new", {
        "building": "A", "number": "1202", "residents": "王芳/call me"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "第 1 位住户的电话：只能包含数字、空格和短横线" in body
    assert "digits, spaces and dashes" not in body


def test_unit_problem_names_the_field_in_the_request_language(app) -> None:  # type: ignore[no-untyped-def]
    problems = _unit_problems({"building": "", "number": "1201"})
    with app.test_request_context("/"):
        assert [unit_text(p) for p in problems] == ["楼栋：必填。"]


def test_unit_problem_keeps_its_english_sentence_for_logs() -> None:
    problems = _unit_problems({"building": "A", "number": "1",
                               "residents": [{"name": "x", "relation": "cousin"}]})
    assert [str(p) for p in problems] == [
        "residents[0].relation: one of owner, household, tenant, got 'cousin'"]


def test_unit_relation_problem_lists_the_choices_as_shown_in_the_language(app) -> None:  # type: ignore[no-untyped-def]
    problems = _unit_problems({"building": "A", "number": "1",
                               "residents": [{"name": "x", "relation": "cousin"}]})
    with app.test_request_context("/"):
        text = unit_text(problems[0])
    assert text.startswith("第 1 位住户的关系：只能是 ") and "业主" in text and "'cousin'" in text


def _broken_plan() -> PatrolPlanError:
    with pytest.raises(PatrolPlanError) as err:
        PatrolPlan(routes=[Route(id="r1", name="夜巡", points=(RoutePoint(checkpoint="c9",
                                                                         expected_min=0),))])
    return err.value


def test_patrol_plan_problem_is_translated(app) -> None:  # type: ignore[no-untyped-def]
    exc = _broken_plan()
    with app.test_request_context("/"):
        assert patrol_text(exc) == "路线 r1 使用了不存在的巡更点 c9。"


def test_patrol_plan_problem_keeps_its_english_sentence_for_logs() -> None:
    assert str(_broken_plan()) == "route r1: unknown check-point c9"


def test_patrol_duplicate_names_what_in_the_language(app) -> None:  # type: ignore[no-untyped-def]
    cp = Checkpoint(id="c1", name="大堂", node="lobby", reader="patrol")
    with pytest.raises(PatrolPlanError) as err:
        PatrolPlan(checkpoints=[cp, cp])
    with app.test_request_context("/"):
        assert patrol_text(err.value) == "巡更点 c1 重复定义。"


def test_patrol_error_without_a_code_falls_back_to_its_text(app) -> None:  # type: ignore[no-untyped-def]
    with app.test_request_context("/"):
        assert patrol_text(PatrolPlanError("something else")) == "something else"
