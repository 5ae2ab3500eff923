"""Benchmark of the permission checks: the API's project list and a project's detail for a user who sees every
project through their own shares, and for one who sees the same projects through groups only.

Usage: .venv/bin/python bench/permissions.py [--quick] [--requests N] [--projects N]
It starts its own Aerie from this checkout (see bench/common.py) and seeds the rows straight into its SQLite
database: an owner's projects, each shared with the `bench` user and with GROUPS groups that `member` is in.
Prints one figure per line: `name value unit`.
"""
import argparse
import sys
from types import SimpleNamespace

from werkzeug.security import generate_password_hash

from api import latencies, report
from common import Server, api_session, checked, figure

GROUPS = 10
MEMBER, MEMBER_PASSWORD = "member", "member-password-1"


def parse_args():
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="20 requests per figure instead of 200")
    parser.add_argument("--requests", type=int, help="timed requests per figure (after a warm-up)")
    parser.add_argument("--projects", type=int, default=200, help="projects each user sees (default 200)")
    return parser.parse_args()


def seed(database_url, project_count):
    """The owner's projects, shared with `bench` directly and with the groups of `member`; the first project's id."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from webapp.models import Group, Project, ProjectGroupShare, ProjectShare, User
    with Session(create_engine(database_url)) as session:
        bench = session.query(User).filter_by(username="bench").one()
        owner = User(username="owner", password_hash=generate_password_hash("owner-password-1"))
        member = User(username=MEMBER, password_hash=generate_password_hash(MEMBER_PASSWORD))
        groups = [Group(name=f"team {number}", members=[member]) for number in range(GROUPS)]
        projects = [Project(owner=owner, name=f"Survey {number}") for number in range(project_count)]
        session.add_all([owner, member, *groups, *projects])
        session.flush()
        for number, project in enumerate(projects):
            session.add(ProjectShare(project_id=project.id, user_id=bench.id, can_view=True, can_change=True))
            session.add(ProjectGroupShare(project_id=project.id, group_id=groups[number % GROUPS].id, can_view=True,
                                          can_change=True))
        session.commit()
        return projects[0].id


def run(server, count, project_count):
    """Time the list and a detail for each user."""
    first = seed(server.stack.database_url, project_count)
    figure("requests_per_figure", count, "requests")
    figure("projects_per_user", project_count, "projects")
    for label, username, password in (("own_shares", server.username, server.password),
                                      ("group_shares", MEMBER, MEMBER_PASSWORD)):
        session = api_session(server.base, username, password)
        url = f"{server.base}/api/projects/"
        listed = checked(session.get(url)).json()
        if len(listed) != project_count or listed[0]["permissions"] != ["view", "change"]:
            raise RuntimeError(f"{username} lists {len(listed)} projects, the first with {listed[0]['permissions']}")
        report(f"project_list_{label}", *latencies(server, session, url, count))
        report(f"project_detail_{label}", *latencies(server, session, f"{url}{first}/", count))


def main():
    """Run the benchmark."""
    args = parse_args()
    count = args.requests or (20 if args.quick else 200)
    options = SimpleNamespace(base=None, web_workers=2, server_pid=None, username=None, password=None)
    with Server(options) as server:
        run(server, count, args.projects)


if __name__ == "__main__":
    sys.exit(main())
