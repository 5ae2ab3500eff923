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
