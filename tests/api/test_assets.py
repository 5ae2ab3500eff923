"""Assets: download by the asset table (files with Range, folders zipped while streaming), raw asset files,
and the shared extraction of results zips."""
import io
import os
import zipfile

import pytest

from tests.support.factories import add_task
from tests.support.images import results_zip
from tests.support.web import auth

from webapp import storage
from webapp.extensions import db
from webapp.models import TaskStatus
from webapp.services import assets

RESULTS = {
    "odm_orthophoto/odm_orthophoto.tif": b"II*\0" + bytes(range(256)) * 4,
    "odm_texturing/odm_textured_model_geo.obj": b"v 0 0 0\n" * 50,
    "odm_texturing/odm_textured_model_geo.mtl": b"newmtl a\n",
    "odm_dem/dsm.tif": b"II*\0dsm",
    "cameras.json": b"{}",
    "odm_report/report.pdf": b"%PDF-1.4 report",
}


@pytest.fixture
def done_task(project):
    """A completed task whose assets folder holds RESULTS."""
    task = add_task(project, name="done", status=TaskStatus.COMPLETED)
    folder = storage.assets_dir(project.id, task.id)
    for name, data in RESULTS.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    task.available_assets = assets.available_assets(folder)
    db.session.commit()
    return task


def url_of(task, tail):
    """A URL under the task."""
    return f"/api/projects/{task.project_id}/tasks/{task.id}/{tail}"


def test_available_assets_follow_the_table_order(done_task):
    assert done_task.available_assets == ["all.zip", "orthophoto.tif", "textured_model.zip", "dsm.tif",
                                           "cameras.json", "report.pdf"]
    assert assets.available_assets(storage.assets_dir(1, 9999)) == []


def test_file_asset_is_an_attachment_with_range_support(client, users, done_task):
    headers = auth(users["viewer"])
    response = client.get(url_of(done_task, "download/orthophoto.tif"), headers=headers)
    assert response.status_code == 200 and response.data == RESULTS["odm_orthophoto/odm_orthophoto.tif"]
    assert response.headers["Content-Disposition"].startswith("attachment") and \
        "orthophoto.tif" in response.headers["Content-Disposition"]
    part = client.get(url_of(done_task, "download/orthophoto.tif"), headers={**headers, "Range": "bytes=4-9"})
    assert part.status_code == 206 and part.data == RESULTS["odm_orthophoto/odm_orthophoto.tif"][4:10]
    assert part.headers["Content-Range"].startswith("bytes 4-9/")


def test_folder_assets_are_zipped_while_streaming(client, users, done_task):
    response = client.get(url_of(done_task, "download/textured_model.zip"), headers=auth(users["owner"]))
    assert response.status_code == 200 and response.is_streamed
    assert int(response.headers["Content-Length"]) == len(response.data)
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert sorted(archive.namelist()) == ["odm_textured_model_geo.mtl", "odm_textured_model_geo.obj"]
        assert archive.read("odm_textured_model_geo.obj") == RESULTS["odm_texturing/odm_textured_model_geo.obj"]


def test_all_zip_holds_every_asset_file_and_can_be_imported_again(client, users, project, done_task):
    response = client.get(url_of(done_task, "download/all.zip"), headers=auth(users["owner"]))
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert sorted(archive.namelist()) == sorted(RESULTS)
        assert all(archive.read(name) == data for name, data in RESULTS.items())
    imported = client.post(f"/api/projects/{project.id}/tasks/import", headers=auth(users["owner"]),
                           data={"file": (io.BytesIO(response.data), "all.zip")})
    assert imported.status_code == 201 and imported.json["available_assets"] == done_task.available_assets


@pytest.mark.parametrize("asset", ["dtm.tif", "secrets.txt", "odm_dem", "textured_model.glb"])
def test_unknown_or_absent_assets_are_404(client, users, done_task, asset):
    response = client.get(url_of(done_task, f"download/{asset}"), headers=auth(users["owner"]))
    assert response.status_code == 404 and response.json == {"detail": "Asset does not exist"}


@pytest.mark.parametrize("who, status", [("viewer", 200), ("admin", 200), ("stranger", 404), (None, 403)])
def test_download_by_role(client, users, done_task, who, status):
    response = client.get(url_of(done_task, "download/cameras.json"), headers=auth(users[who]) if who else {})
    assert response.status_code == status


def test_public_task_assets_are_downloadable_by_anyone(client, done_task):
    done_task.public = True
    db.session.commit()
    assert client.get(url_of(done_task, "download/dsm.tif")).data == RESULTS["odm_dem/dsm.tif"]
    assert client.get(url_of(done_task, "assets/odm_dem/dsm.tif")).status_code == 200


def test_raw_asset_files_are_served_and_confined(client, users, project, done_task):
    headers = auth(users["owner"])
    assert client.get(url_of(done_task, "assets/odm_report/report.pdf"), headers=headers).data == \
        RESULTS["odm_report/report.pdf"]
    storage.console_path(project.id, done_task.id).write_text("outside the assets folder")
    for path in ("../console.txt", "..%2Fconsole.txt", "odm_dem/../../console.txt", "%2Fetc%2Fpasswd",
                 "odm_dem", "missing.tif"):
        response = client.get(url_of(done_task, f"assets/{path}"), headers=headers)
        assert response.status_code == 404, path
        assert b"outside" not in response.data
    assert client.get(url_of(done_task, "assets/cameras.json"), headers=auth(users["stranger"])).status_code == 404


def test_a_symlink_in_the_assets_folder_is_not_followed_out(client, users, project, done_task):
    link = storage.assets_dir(project.id, done_task.id) / "link.txt"
    os.symlink(storage.console_path(project.id, done_task.id), link)
    storage.console_path(project.id, done_task.id).write_text("secret")
    assert client.get(url_of(done_task, "assets/link.txt"), headers=auth(users["owner"])).status_code == 404


# extract_results_zip, used by the import and by the pipeline

def test_extract_results_zip_writes_files_and_reports_assets_and_size(tmp_path):
    zip_path = tmp_path / "all.zip"
    zip_path.write_bytes(results_zip(RESULTS))
    results = assets.extract_results_zip(zip_path, tmp_path / "assets")
    assert results.available_assets == ["all.zip", "orthophoto.tif", "textured_model.zip", "dsm.tif",
                                        "cameras.json", "report.pdf"]
    assert results.size == pytest.approx(sum(map(len, RESULTS.values())) / 1024 / 1024)
    assert (tmp_path / "assets" / "odm_dem" / "dsm.tif").read_bytes() == RESULTS["odm_dem/dsm.tif"]


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/evil.txt", "a/../../evil.txt", "C:/evil.txt",
                                  "..\\evil.txt"])
def test_extract_refuses_entries_that_leave_the_folder_and_keeps_the_old_assets(tmp_path, name):
    target = tmp_path / "task" / "assets"
    target.mkdir(parents=True)
    (target / "old.tif").write_bytes(b"previous results")
    zip_path = tmp_path / "bad.zip"
    zip_path.write_bytes(results_zip({"cameras.json": b"{}", name: b"owned"}))
    with pytest.raises(assets.InvalidResultsZip, match="outside"):
        assets.extract_results_zip(zip_path, target)
    assert (target / "old.tif").read_bytes() == b"previous results"
    assert not (target / "cameras.json").exists()
    assert not list(tmp_path.rglob("evil.txt"))
    assert sorted(p.name for p in (tmp_path / "task").iterdir()) == ["assets"]  # no staging left behind


def test_extract_refuses_symbolic_links(tmp_path):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        info = zipfile.ZipInfo("link")
        info.external_attr = (0o120777 << 16)
        archive.writestr(info, "/etc/passwd")
    (tmp_path / "link.zip").write_bytes(out.getvalue())
    with pytest.raises(assets.InvalidResultsZip, match="symbolic link"):
        assets.extract_results_zip(tmp_path / "link.zip", tmp_path / "assets")


def test_extract_refuses_what_is_not_a_zip(tmp_path):
    (tmp_path / "not.zip").write_bytes(b"PK but not really")
    with pytest.raises(assets.InvalidResultsZip, match="not a valid zip"):
        assets.extract_results_zip(tmp_path / "not.zip", tmp_path / "assets")
    assert not (tmp_path / "assets").exists()


def test_extract_replaces_previous_results(tmp_path):
    target = tmp_path / "assets"
    target.mkdir()
    (target / "stale.tif").write_bytes(b"old")
    zip_path = tmp_path / "new.zip"
    zip_path.write_bytes(results_zip({"odm_dem/dtm.tif": b"dtm"}))
    assert assets.extract_results_zip(zip_path, target).available_assets == ["all.zip", "dtm.tif"]
    assert sorted(str(p.relative_to(target)) for p in target.rglob("*")) == ["odm_dem", "odm_dem/dtm.tif"]
