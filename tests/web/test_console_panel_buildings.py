"""Intercom panels mapped to buildings: a number keyed at a mapped panel ("1201") is looked up in
that panel's building, so it resolves even when several buildings have a 1201; administrators
edit the mapping on /visitors/panels (audited), nobody else may."""

from __future__ import annotations

from typing import Iterator

import pytest

from web.state import console

from console_helpers import login, post_form
from visitor_helpers import add_unit, lobby_services, ring


@pytest.fixture
def services(config, clock) -> Iterator:  # type: ignore[no-untyped-def]
    with lobby_services(config, clock) as svc:
        add_unit(svc, "A", "1201")
        add_unit(svc, "B", "1201", residents=[{"name": "陈静", "phone": "13611112222",
                                               "relation": "owner"}])
        add_unit(svc, "A", "801")
        yield svc


@pytest.fixture
def admin(make_client):  # type: ignore[no-untyped-def]
    c = make_client()
    assert login(c, "admin1").status_code == 303
    post_form(c, "/", "/lang/en", {"next": "/"})
    return c


def _map(client, node: str = "lobby", panel: str = "lobby-panel", building: str = "B"):  # type: ignore[no-untyped-def]
    return post_form(client, "/visitors/panels", "/visitors/panels",
                     {"node": node, "panel": panel, "building": building})


def test_unmapped_panel_cannot_tell_which_1201_is_meant(services) -> None:
    key = ring(services, "1201")
    assert services.visitors.calls.require(key).unit is None


def test_mapped_panel_resolves_the_keyed_number_in_its_building(services) -> None:
    services.visitors.panels.set("lobby", "lobby-panel", "B", by="admin1")
    key = ring(services, "1201")
    assert services.visitors.calls.require(key).unit == "B-1201"


def test_mapped_panel_does_not_fall_back_to_another_building(services) -> None:
    services.visitors.panels.set("lobby", "lobby-panel", "B", by="admin1")
    key = ring(services, "801")                       # only building A has an 801
    assert services.visitors.calls.require(key).unit is None


def test_a_full_unit_code_still_resolves_at_a_mapped_panel(services) -> None:
    services.visitors.panels.set("lobby", "lobby-panel", "B", by="admin1")
    assert services.visitors.calls.require(ring(services, "A-1201")).unit == "A-1201"


def test_the_same_panel_name_on_another_node_is_not_mapped(services) -> None:
    services.visitors.panels.set("lobby", "lobby-panel", "B", by="admin1")
    key = ring(services, "1201", node="annex")
    assert services.visitors.calls.require(key).unit is None


def test_desk_sees_the_residents_of_the_mapped_buildings_unit(services, make_client) -> None:
    services.visitors.panels.set("lobby", "lobby-panel", "B", by="admin1")
    ring(services, "1201")
    desk = make_client()
    login(desk, "desk1")
    page = desk.get("/desk").get_data(as_text=True)
    assert "B-1201" in page and "陈静" in page and "tel:13611112222" in page


def test_desk_is_told_which_building_lacks_a_number_keyed_at_a_mapped_panel(services,
                                                                            make_client) -> None:
    services.visitors.panels.set("lobby", "lobby-panel", "B", by="admin1")
    ring(services, "801")                             # only building A has an 801
    desk = make_client()
    login(desk, "desk1")
    post_form(desk, "/", "/lang/en", {"next": "/"})
    page = desk.get("/desk").get_data(as_text=True)
    assert "Building B has no unit 801 in the unit registry." in page


def test_admin_maps_a_panel_on_the_page_and_it_is_audited(admin, services, app) -> None:
    assert _map(admin).status_code == 303
    assert services.visitors.panels.building_for("lobby", "lobby-panel") == "B"
    [entry] = console(app).audit.search(action="intercom.panel_building")
    assert (entry.user, entry.target, entry.detail) == ("admin1", "lobby/lobby-panel",
                                                        "building - -> B")
    assert 'data-panel="lobby/lobby-panel"' in admin.get("/visitors/panels").get_data(as_text=True)


def test_mapping_to_a_building_without_units_is_refused(admin, services) -> None:
    resp = _map(admin, building="Z")
    assert resp.status_code == 400
    assert "No unit of the unit registry is in this building." in resp.get_data(as_text=True)
    assert services.visitors.panels.all() == []


def test_a_bad_panel_name_is_refused(admin, services) -> None:
    resp = _map(admin, panel="lobby panel<script>")
    assert resp.status_code == 400 and services.visitors.panels.all() == []


def test_admin_removes_a_mapping_and_it_is_audited(admin, services, app) -> None:
    _map(admin)
    resp = post_form(admin, "/visitors/panels", "/visitors/panels/lobby/lobby-panel/delete", {})
    assert resp.status_code == 303 and services.visitors.panels.all() == []
    [entry] = console(app).audit.search(action="intercom.panel_building_remove")
    assert entry.detail == "building B -> -"


def test_panels_that_called_without_a_building_are_offered(admin, services) -> None:
    ring(services, "1201", node="annex")
    page = admin.get("/visitors/panels").get_data(as_text=True)
    assert 'data-unmapped="annex/lobby-panel"' in page


@pytest.mark.parametrize("user", ["desk1", "guard1"])
def test_only_admins_edit_the_panel_mapping(make_client, services, user) -> None:
    c = make_client()
    login(c, user)
    assert c.get("/visitors/panels").status_code == 403
    assert post_form(c, "/", "/visitors/panels", {"node": "lobby", "panel": "p",
                                                  "building": "B"}).status_code == 403
    assert services.visitors.panels.all() == []
