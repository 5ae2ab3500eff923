"""The README's licence table lists each runtime dependency, so that a new dependency's licence gets checked."""
import re

from webapp.config import ROOT

ROW = re.compile(r"^\| ([A-Za-z][A-Za-z0-9._-]*) \| ([^|]+) \|$")


def normalized(name):
    """A package name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements():
    """The package names of requirements.txt."""
    names = set()
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            names.add(normalized(re.split(r"[\[=<>!~ ;]", line)[0]))
    return names


def licence_table():
    """{package: licence} from the table of the README's Licence section."""
    section = (ROOT / "README.md").read_text().split("\n## Licence\n")[1].split("\n## ")[0]
    rows = (ROW.match(line.strip()) for line in section.splitlines())
    return {normalized(row.group(1)): row.group(2).strip() for row in rows if row and row.group(1) != "package"}


def test_every_runtime_dependency_has_its_licence_in_the_readme():
    table = licence_table()
    missing = sorted(requirements() - set(table))
    assert not missing, f"add these to the README's licence table, after checking their licence: {missing}"
    assert all(table.values()), "a row of the README's licence table names no licence"


def test_the_readme_lists_no_dependency_that_is_gone():
    stale = sorted(set(licence_table()) - requirements())
    assert not stale, f"the README's licence table lists packages that requirements.txt no longer names: {stale}"
