"""WebODM's presets API: the system presets (read-only for everyone) and each user's own (theirs alone): list,
get, create, change, delete; bad input is a 400 naming the field and changes nothing."""
import pytest

from tests.support.web import auth
from webapp.extensions import db
from webapp.models import Preset
from webapp.services import presets

PRESET_FIELDS = ["id", "name", "options", "created_at", "system"]
OPTIONS = [{"name": "dsm", "value": True}, {"name": "orthophoto-resolution", "value": 3}]


def test_the_list_is_the_system_presets_then_ones_own(client, users):
    mine = client.post("/api/presets/", json={"name": "Mine", "options": OPTIONS}, headers=auth(users["owner"]))
    assert mine.status_code == 201 and list(mine.json) == PRESET_FIELDS
    assert mine.json["options"] == OPTIONS and mine.json["system"] is False
    listed = client.get("/api/presets/", headers=auth(users["owner"])).json
    assert [p["name"] for p in listed] == [*presets.SYSTEM_PRESETS, "Mine"]
    assert all(p["system"] for p in listed[:-1])
    others = client.get("/api/presets/", headers=auth(users["stranger"])).json
    assert [p["name"] for p in others] == list(presets.SYSTEM_PRESETS)
    assert client.get("/api/presets/").status_code == 403


@pytest.mark.parametrize("who", ["owner", "stranger", "admin"])
def test_a_system_preset_is_read_by_all_and_changed_by_none(client, users, who):
    headers = auth(users[who])
    system = client.get("/api/presets/", headers=headers).json[1]
    url = f"/api/presets/{system['id']}/"
    assert client.get(url, headers=headers).json == system
    for method in ("patch", "put"):
        refused = getattr(client, method)(url, json={"name": "Hijacked"}, headers=headers)
        assert refused.status_code == 403
        assert refused.json == {"detail": "System presets cannot be changed or deleted."}
    assert client.delete(url, headers=headers).status_code == 403
    db.session.expire_all()
    assert db.session.get(Preset, system["id"]).name == system["name"]


def test_the_owner_changes_and_deletes_their_preset_and_nobody_else_sees_it(client, users):
    headers = auth(users["owner"])
    preset = client.post("/api/presets/", data={"name": "Mine", "options": '[{"name": "dsm", "value": true}]'},
                         headers=headers).json
    url = f"/api/presets/{preset['id']}/"
    for who in ("stranger", "admin", "viewer"):
        assert client.get(url, headers=auth(users[who])).status_code == 404
        assert client.patch(url, json={"name": "Theirs"}, headers=auth(users[who])).status_code == 404
        assert client.delete(url, headers=auth(users[who])).status_code == 404
    changed = client.patch(url, json={"name": " Renamed "}, headers=headers)
    assert changed.status_code == 200 and changed.json["name"] == "Renamed"
    assert changed.json["options"] == [{"name": "dsm", "value": True}]  # untouched
    replaced = client.put(url, json={"options": OPTIONS}, headers=headers)
    assert replaced.json["options"] == OPTIONS and replaced.json["name"] == "Renamed"
    assert client.delete(url, headers=headers).status_code == 204
    assert client.get(url, headers=headers).status_code == 404


def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(client, users):
    headers = auth(users["owner"])
    preset = client.post("/api/presets/", json={"name": "Mine", "options": OPTIONS}, headers=headers).json
    url = f"/api/presets/{preset['id']}/"
    for body, field in [({"name": ""}, "name"), ({"name": "x" * 256}, "name"), ({"options": "not json"}, "options"),
                        ({"options": [{"name": "dsm", "value": {"nested": 1}}]}, "options"),
                        ({"name": "Fine", "options": [{"value": 1}]}, "options")]:
        response = client.patch(url, json=body, headers=headers)
        assert response.status_code == 400 and field in response.json, body
    assert client.post("/api/presets/", json={"options": OPTIONS}, headers=headers).json == {
        "name": ["Give the preset a name."]}
    assert client.get(url, headers=headers).json == preset
    assert Preset.query.filter_by(system=False).count() == 1
