"""The credentials registry pages (门禁卡): add, edit, disable, hostile input, the snapshot the
node loads (its version rising by one per change), CSV import with bad rows and export."""

from __future__ import annotations

import io
import json

import pytest

from edge.access.credentials import CredentialSet
from edge.access.pin import verify_pin
from web.access import CredentialRecord, hash_pin
from web.access.csv_io import parse_csv

from console_helpers import login, post_form

FORM = "/credentials/new"


def good(**kw) -> dict:  # type: ignore[no-untyped-def]
    base = {"credential_id": "c-1001", "cards": "w26:123:4567", "holder": "王芳",
            "unit": "3-2-501", "kind": "resident", "doors": "*", "enabled": "y"}
    base.update(kw)
    return base


@pytest.fixture
def desk(client):  # type: ignore[no-untyped-def]
    assert login(client, "desk1").status_code == 303
    assert post_form(client, "/", "/lang/en", {"next": "/"}).status_code == 303
    return client


def add(client, **kw):  # type: ignore[no-untyped-def]
    return post_form(client, FORM, FORM, good(**kw))


def test_desk_adds_a_credential_and_the_snapshot_version_becomes_1(desk, services) -> None:
    assert services.credentials.version() == 0
    resp = add(desk)
    assert resp.status_code == 303
    assert services.credentials.version() == 1
    page = desk.get("/credentials").get_data(as_text=True)
    assert "王芳" in page and "w26:123:4567" in page


def test_every_change_raises_the_version_by_one(desk, services) -> None:
    add(desk)
    edit = "/credentials/c-1001/edit"
    assert post_form(desk, edit, edit, good(unit="3-2-502")).status_code == 303
    assert services.credentials.version() == 2
    assert post_form(desk, "/credentials", "/credentials/c-1001/disable", {}).status_code == 303
    assert services.credentials.version() == 3
    post_form(desk, "/credentials", "/credentials/c-1001/disable", {})   # already disabled
    assert services.credentials.version() == 3
    assert services.credentials.get("c-1001").unit == "3-2-502"


def test_the_snapshot_loads_on_the_node_with_nothing_rejected(desk, services) -> None:
    add(desk, pin="4821")
    add(desk, credential_id="c-2", cards="em:0a12345678 w34:1:2", kind="contractor",
        doors="lobby gate-north", valid_until="2026-03-01T18:00", holder="李师傅")
    snap = services.credentials.snapshot()
    loaded = CredentialSet.from_snapshot(snap)
    assert loaded.rejected == [] and len(loaded) == 2 and loaded.version == 2
    contractor = loaded.lookup("em:0A12345678")
    assert contractor.credential_id == "c-2" and contractor.doors == ("lobby", "gate-north")
    assert contractor.valid_until is not None
    assert verify_pin("4821", loaded.get("c-1001").pin_hash)
    assert "4821" not in json.dumps(snap.data)


def test_console_pin_hash_verifies_with_the_node_code() -> None:
    encoded = hash_pin("123456", iterations=1000)
    assert encoded.startswith("pbkdf2_sha256$1000$")
    assert verify_pin("123456", encoded) and not verify_pin("123457", encoded)


@pytest.mark.parametrize("field,value,message", [
    ("cards", "123:4567", "Not a card number"),
    ("cards", "w26:999:1", "Not a card number"),
    ("credential_id", "<script>alert(1)</script>", "1 to 64 characters"),
    ("doors", "Lobby; DROP TABLE", "Door ids are"),
    ("kind", "landlord", "Not a valid choice"),
    ("pin", "12ab", "A PIN is 4 to 12 digits"),
    ("valid_from", "yesterday", "Not a valid date and time"),
    ("holder", "x" * 101, "Too long"),
    ("holder", "a\x00b", "control characters"),
])
def test_hostile_or_bad_input_is_refused_with_the_problem_named(desk, services, field, value,
                                                                message) -> None:
    resp = add(desk, **{field: value})
    assert resp.status_code == 400
    assert message in resp.get_data(as_text=True)
    assert services.credentials.count() == 0


def test_contractor_pass_needs_an_end_date_and_named_doors(desk, services) -> None:
    body = add(desk, kind="contractor", doors="*").get_data(as_text=True)
    assert "A contractor pass needs an end date" in body
    assert "A contractor pass must name its doors" in body
    assert services.credentials.count() == 0


def test_holder_markup_is_shown_as_text(desk) -> None:
    add(desk, holder='<img src=x onerror="alert(1)">')
    page = desk.get("/credentials").get_data(as_text=True)
    assert "<img src=x" not in page and "&lt;img src=x" in page


def test_a_card_of_another_credential_is_refused(desk, services) -> None:
    add(desk)
    resp = add(desk, credential_id="c-2", cards="w26:0123:4567")
    assert resp.status_code == 400
    assert "already belongs to credential c-1001" in resp.get_data(as_text=True)
    assert services.credentials.version() == 1


def test_form_without_csrf_token_is_refused(desk, services) -> None:
    resp = desk.post(FORM, data=good())
    assert resp.status_code == 400
    assert services.credentials.count() == 0


def test_edit_keeps_the_pin_when_left_blank_and_removes_it_on_request(desk, services) -> None:
    add(desk, pin="4821")
    pin_hash = services.credentials.get("c-1001").pin_hash
    edit = "/credentials/c-1001/edit"
    post_form(desk, edit, edit, good(holder="王芳芳"))
    assert services.credentials.get("c-1001").pin_hash == pin_hash
    post_form(desk, edit, edit, good(clear_pin="y"))
    assert services.credentials.get("c-1001").pin_hash is None


def test_pages_are_in_chinese_by_default(client) -> None:
    login(client, "admin1")
    page = client.get("/credentials/new").get_data(as_text=True)
    for word in ("门禁卡", "持卡人", "房号", "有效期"):
        assert word in page


def test_search_finds_by_unit_and_card(desk) -> None:
    add(desk)
    add(desk, credential_id="c-2", cards="w26:1:1", holder="张伟", unit="5-1-101")
    page = desk.get("/credentials?q=5-1-").get_data(as_text=True)
    assert "张伟" in page and "王芳" not in page
    page = desk.get("/credentials?q=w26:123").get_data(as_text=True)
    assert "王芳" in page and "张伟" not in page


# -- CSV ---------------------------------------------------------------------------------------

CSV_TEXT = (
    "id,cards,holder,unit,kind,doors,enabled,valid_from,valid_until,schedule,pin\n"
    "c-1,w26:10:1,王芳,3-2-501,resident,*,yes,,,,\n"
    "c-2,not-a-card,李雷,3-2-502,resident,*,yes,,,,\n"
    "c-3,w26:10:3,装修工,3-2-503,contractor,lobby,yes,2026-01-01,,,\n"
    "c-4,w26:10:4,韩梅梅,3-2-504,tenant,lobby gate-north,maybe,,,,\n"
    "c-5,w26:10:1,重复卡,3-2-505,resident,*,yes,,,,\n"
    "c-6,em:0A12345678,张伟,5-1-101,staff,*,no,2026-01-01,2027-01-01 18:00,,123456\n")


def upload(client, text: str):  # type: ignore[no-untyped-def]
    return post_form(client, "/credentials/import", "/credentials/import",
                     {"file": (io.BytesIO(text.encode("utf-8")), "cards.csv")},
                     content_type="multipart/form-data")


def test_csv_import_keeps_the_good_rows_and_reports_each_bad_one(desk, services) -> None:
    resp = upload(desk, CSV_TEXT)
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert sorted(r.credential_id for r in services.credentials) == ["c-1", "c-6"]
    for line in (3, 4, 5, 6):                        # header is line 1
        assert f'data-problem-row="{line}"' in page
    assert "already belongs to another credential" in page      # c-5 reuses c-1's card
    assert "A contractor pass needs an end date" in page
    assert services.credentials.version() == 1                  # one import, one version
    assert verify_pin("123456", services.credentials.get("c-6").pin_hash)
    assert services.credentials.get("c-6").enabled is False


def test_csv_without_the_cards_column_imports_nothing(desk, services) -> None:
    page = upload(desk, "id,holder\nc-1,王芳\n").get_data(as_text=True)
    assert "This column is missing" in page and services.credentials.count() == 0


def test_csv_that_is_not_utf8_is_refused(desk, services) -> None:
    resp = post_form(desk, "/credentials/import", "/credentials/import",
                     {"file": (io.BytesIO("id,cards,doors\nc-1,w26:1:1,*\n王".encode("gb18030")),
                               "cards.csv")}, content_type="multipart/form-data")
    assert resp.status_code == 400 and services.credentials.count() == 0


def test_csv_export_round_trips_through_import_and_neutralises_formulas(desk, services) -> None:
    add(desk, holder="=HYPERLINK(\"x\")", pin="4821")
    text = desk.get("/credentials.csv").get_data(as_text=True)
    assert "'=HYPERLINK" in text and "pbkdf2" not in text
    plan = parse_csv(text, timezone="Asia/Shanghai",
                     current_pin=lambda cid: services.credentials.get(cid).pin_hash)
    assert plan.problems == []
    [(_, record)] = plan.records
    assert record.holder == "=HYPERLINK(\"x\")"
    assert record == services.credentials.get("c-1001").with_changes(updated_at=0, updated_by="")


def test_store_refuses_a_card_twice_and_changes_nothing(services) -> None:
    store = services.credentials
    store.save(CredentialRecord(credential_id="a", cards=("w26:1:1",)), by="t", create=True)
    with pytest.raises(Exception):
        store.save(CredentialRecord(credential_id="b", cards=("w26:1:1",)), by="t", create=True)
    assert store.count() == 1 and store.version() == 1
