"""The CLI commands for scripted setups."""
from webapp.models import ProcessingNode, User


def test_create_user_and_admin(runner):
    result = runner.invoke(args=["create-user", "ada", "--password", "long-password", "--admin"])
    assert result.exit_code == 0, result.output
    assert "Created administrator ada." in result.output
    assert User.query.filter_by(username="ada").one().is_admin


def test_create_user_refuses_a_duplicate_with_a_message(runner):
    runner.invoke(args=["create-user", "ada", "--password", "long-password"])
    result = runner.invoke(args=["create-user", "ada", "--password", "long-password"])
    assert result.exit_code != 0
    assert "already exists" in result.output
    assert User.query.count() == 1


def test_create_user_refuses_a_short_password(runner):
    result = runner.invoke(args=["create-user", "ada", "--password", "short"])
    assert result.exit_code != 0 and "at least 8 characters" in result.output
    assert User.query.count() == 0


def test_add_node_that_does_not_answer_is_stored_offline(runner):
    result = runner.invoke(args=["add-node", "127.0.0.1", "1", "--label", "Nowhere", "--token", "s3cret"])
    assert result.exit_code == 0, result.output
    assert "Nowhere added (not answering yet)" in result.output
    node = ProcessingNode.query.one()
    assert (node.hostname, node.port, node.token, node.last_refreshed) == ("127.0.0.1", 1, "s3cret", None)


def test_add_node_refuses_a_bad_port(runner):
    result = runner.invoke(args=["add-node", "127.0.0.1", "70000"])
    assert result.exit_code != 0 and "port number" in result.output
    assert ProcessingNode.query.count() == 0


def test_prepare_3d_makes_the_3d_files_of_older_completed_tasks(runner):
    from tests.support import models3d as fixtures
    from tests.support.factories import add_project
    from webapp import storage
    from webapp.extensions import db
    from webapp.models import Task, TaskStatus
    from webapp.services import models3d

    project = add_project()
    older = [Task(project_id=project.id, name=name, status=TaskStatus.COMPLETED) for name in ("3d", "flat")]
    db.session.add_all(older)
    db.session.commit()
    fixtures.write_3d_results(storage.assets_dir(project.id, older[0].id))  # extracted before the 3D page
    storage.assets_dir(project.id, older[1].id).mkdir(parents=True)  # results with nothing 3D
    result = runner.invoke(args=["prepare-3d"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [f"task {older[0].id}: 3D view ready",
                                          f"task {older[1].id}: nothing to show in 3D", "2 task(s) prepared."]
    assert models3d.has_3d(storage.assets_dir(project.id, older[0].id))
    assert "textured_model.glb" in db.session.get(Task, older[0].id).available_assets
    assert runner.invoke(args=["prepare-3d"]).output.splitlines() == [
        f"task {older[1].id}: nothing to show in 3D", "1 task(s) prepared."]


def test_prepare_map_tiles_makes_the_maps_copies_that_completed_tasks_lack(runner):
    from tests.support import maps
    from tests.support.factories import add_project
    from webapp import storage
    from webapp.services import tile_pyramids

    project = add_project()
    older = maps.completed_task(project, shots=False)  # an orthophoto and a DSM, extracted before the copies
    folder = storage.assets_dir(project.id, older.id)
    assert not (folder / tile_pyramids.PYRAMID_DIR).exists()
    result = runner.invoke(args=["prepare-map-tiles"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [f"task {older.id}: orthophoto, dsm", "1 task(s) prepared."]
    made = sorted(path.name for path in (folder / tile_pyramids.PYRAMID_DIR).iterdir())
    assert [name.split("-")[0] for name in made] == ["dsm", "orthophoto"]
    assert runner.invoke(args=["prepare-map-tiles"]).output.splitlines() == ["0 task(s) prepared."]
