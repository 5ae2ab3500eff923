"""The modules of webapp/ import one another as a tree (a directed graph without cycles).

The graph is read from the source with ast, nothing is imported. Every import counts, also those inside functions.
An edge goes to the module named: `from webapp.services import tasks` names webapp.services.tasks, `from webapp.api
import bp` names the package webapp.api. A module's own package (executed first by Python) is not an edge: a
package's __init__ importing its modules is the ordinary way to register them.
"""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "webapp"


def module_name(path):
    """The dotted name of a file under ROOT (a package is named by its folder)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def webapp_modules():
    """{dotted name: path} of every module of the package."""
    return {module_name(path): path for path in sorted((ROOT / PACKAGE).rglob("*.py"))}


def _absolute(node, importer, is_package):
    """The absolute module an ImportFrom starts from (relative imports resolved against the importer)."""
    if not node.level:
        return node.module or ""
    base = importer.split(".")
    base = base[:len(base) - node.level + (1 if is_package else 0)]
    return ".".join(base + ([node.module] if node.module else []))


def imported(name, path, modules):
    """The webapp modules that the module `name` imports, anywhere in its source."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    targets = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, name, is_package)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                targets.add(submodule if submodule in modules else base)
    return {target for target in targets if target in modules and target != name}


def import_graph():
    """{module: set of the webapp modules it imports}."""
    modules = webapp_modules()
    return {name: imported(name, path, modules) for name, path in modules.items()}


def find_cycle(graph):
    """One cycle of the graph as a list of modules [a, b, ..., a], or None (an iterative depth-first search)."""
    state = {}  # module -> "open" while on the current path, "done" once all its descendants were seen
    for start in sorted(graph):
        if start in state:
            continue
        path, stack = [start], [iter(sorted(graph[start]))]
        state[start] = "open"
        while stack:
            child = next(stack[-1], None)
            if child is None:
                state[path.pop()] = "done"
                stack.pop()
            elif state.get(child) == "open":
                return path[path.index(child):] + [child]
            elif child not in state:
                state[child] = "open"
                path.append(child)
                stack.append(iter(sorted(graph[child])))
    return None


def test_webapp_has_no_import_cycle():
    """No chain of imports among webapp modules comes back to where it started."""
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_graph_sees_function_level_and_relative_imports(tmp_path):
    """The reader finds imports inside functions and relative ones, and the search finds a cycle made of them."""
    modules = {"webapp.services": None, "webapp.services.projects": None, "webapp.services.tasks": None,
               "webapp.services.errors": None}
    probe = tmp_path / "projects.py"
    probe.write_text("def delete():\n    from webapp.services import tasks\n", encoding="utf-8")
    assert imported("webapp.services.projects", probe, modules) == {"webapp.services.tasks"}
    probe.write_text("from . import tasks\nfrom .errors import NotFound\n", encoding="utf-8")
    assert imported("webapp.services.projects", probe, modules) == {"webapp.services.tasks", "webapp.services.errors"}
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None
