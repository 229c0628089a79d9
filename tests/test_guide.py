"""`docs/adding-a-model.md` names real code: every path and name it gives exists, except the example's own.

The guide's example (a lunch group) is what a reader creates: everything named after it
(`lunch_group`, `LunchGroup…`) must not exist yet. Everything else it names in `backticks`
must: a path as a file or folder, a dotted `lunchtogether.…` path as an importable name, a
`Class.member` as a member of that class, any other name as one the code defines or uses.
"""

import ast
import importlib
import re
import textwrap
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "adding-a-model.md"
FENCED = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
INLINE = re.compile(r"`([^`\n]+)`")
# A path from the repository's root or from `lunchtogether/` (`models/user.py`), or a file's bare name.
PATH = re.compile(r"^[\w-]+(/[\w.-]+)*(/|\.(py|md|ini|toml|graphql))$")
# A name, dotted or not, perhaps called, subscripted or used as a decorator: `Repository[RecordT]`, `get(*where)`.
NAME = re.compile(r"^@?(?P<chain>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)(?:\[[^\]]*\])?(?:\([^)]*\))?$")
EXAMPLE = re.compile(r"lunch_?group", re.IGNORECASE)
CODE = re.compile(r"[A-Z][A-Z0-9_]+")
# Named by the guide as what not to use.
NOT_OURS = {"StringConstraints"}


def prose() -> str:
    return FENCED.sub("", GUIDE.read_text())


def inline_code() -> list[str]:
    return INLINE.findall(prose())


def python_files() -> list[Path]:
    folders = ("lunchtogether", "tests", "alembic")
    return [path for folder in folders for path in (ROOT / folder).rglob("*.py") if path != Path(__file__)]


def path_exists(token: str) -> bool:
    if "/" not in token:
        return any(path.name == token for path in [ROOT / token, *python_files()] if path.exists())
    return (ROOT / token).exists() or (ROOT / "lunchtogether" / token).exists()


@cache
def code_index() -> tuple[frozenset[str], dict[str, tuple[set[str], list[str]]]]:
    """Every name the code defines or uses (imports, attributes, arguments, string values), and
    each class of ours with its members and the names of its bases."""
    names: set[str] = set()
    classes: dict[str, tuple[set[str], list[str]]] = {}
    for path in python_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                members = {
                    target.id
                    for statement in node.body
                    for target in _targets(statement)
                    if isinstance(target, ast.Name)
                } | {
                    statement.name
                    for statement in node.body
                    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef)
                }
                bases = [base.id for base in node.bases if isinstance(base, ast.Name)]
                known, known_bases = classes.setdefault(node.name, (set(), []))
                known |= members
                known_bases.extend(bases)
                names.add(node.name)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names.add(node.name)
            elif isinstance(node, ast.Name):
                names.add(node.id)
            elif isinstance(node, ast.Attribute):
                names.add(node.attr)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, ast.alias):
                names.update(part for part in (node.name, node.asname) if part)
                names.update(node.name.split("."))
            elif isinstance(node, ast.keyword) and node.arg:
                names.add(node.arg)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and CODE.fullmatch(node.value):
                names.add(node.value)  # an error code
    return frozenset(names), classes


def _targets(statement: ast.stmt) -> list[ast.expr]:
    if isinstance(statement, ast.Assign):
        return statement.targets
    if isinstance(statement, ast.AnnAssign):
        return [statement.target]
    return []


def class_has(class_name: str, member: str) -> bool:
    """Whether a class of ours, or a base of ours it inherits from, defines `member`."""
    names, classes = code_index()
    members, bases = classes[class_name]
    if member in members:
        return True
    ours = [base for base in bases if base in classes and base != class_name]
    if any(class_has(base, member) for base in ours):
        return True
    # Inherited from a library class (pydantic's, Strawberry's): used somewhere is as far as we can tell.
    return len(ours) < len(bases) and member in names


def unknown(token: str) -> str | None:
    """Why `token` does not name existing code; None when it does."""
    match = NAME.match(token)
    if match is None or match["chain"] in NOT_OURS:
        return None
    chain = match["chain"].split(".")
    if chain[0] == "lunchtogether":
        return _unimportable(chain)
    names, classes = code_index()
    # Field names and GraphQL names (`first`, `totalCount`) are not checked: only names that look like code.
    if len(chain) == 1 and not re.match(r"^[A-Z_]|.*[(@\[]", token):
        return None
    missing = [part for part in chain if part not in names and part != "self"]
    if missing:
        return f"names {missing}, which the code neither defines nor uses"
    if len(chain) == 2 and chain[0] in classes and not class_has(chain[0], chain[1]):
        return f"{chain[0]} has no {chain[1]}"
    return None


def _unimportable(chain: list[str]) -> str | None:
    for split in range(len(chain), 0, -1):
        try:
            found: object = importlib.import_module(".".join(chain[:split]))
        except ModuleNotFoundError:
            continue
        for attribute in chain[split:]:
            if not hasattr(found, attribute):
                return f"{'.'.join(chain[:split])} has no {attribute}"
            found = getattr(found, attribute)
        return None
    return "is no module"


def test_every_path_the_guide_names_exists_and_the_examples_do_not():
    problems = []
    for token in inline_code():
        if not PATH.match(token):
            continue
        exists = path_exists(token)
        if EXAMPLE.search(token) and exists:
            problems.append(f"{token}: the example's file exists; the guide must not describe it as new")
        elif not EXAMPLE.search(token) and not exists:
            problems.append(f"{token}: no such file or folder")
    assert not problems, "\n".join(problems)


def test_files_marked_new_are_the_examples():
    marked = re.findall(r"`([^`]+)` \(new\)", prose())
    assert marked, "the guide marks no file as new"
    assert all(EXAMPLE.search(path) for path in marked), [path for path in marked if not EXAMPLE.search(path)]


def test_every_name_the_guide_gives_is_in_the_code():
    problems = [
        f"`{token}` {reason}"
        for token in inline_code()
        if not PATH.match(token) and not EXAMPLE.search(token) and (reason := unknown(token))
    ]
    assert not problems, "\n".join(problems)


def test_the_examples_names_are_not_in_the_code():
    """Were the example added to the product, the guide should show that code instead of its own."""
    names, _ = code_index()
    assert not [name for name in names if EXAMPLE.search(name)]


def test_the_guides_python_parses():
    for language, block in FENCED.findall(GUIDE.read_text()):
        if language == "python":
            try:
                ast.parse(textwrap.dedent(block))
            except SyntaxError:
                ast.parse("{\n" + block + "}")  # entries of a dict


def test_the_examples_migration_is_the_next_revision():
    """`--rev-id` in the guide follows the latest migration, and its `down_revision` names that one."""
    revisions = sorted(
        int(match[1])
        for path in (ROOT / "alembic" / "versions").glob("*.py")
        if (match := re.search(r'^revision: str = "(\d+)"', path.read_text(), re.MULTILINE))
    )
    text = GUIDE.read_text()
    rev_id = re.search(r"--rev-id (\d+)", text)
    down_revision = re.search(r'^down_revision: str \| None = "(\d+)"', text, re.MULTILINE)
    assert rev_id, "the guide shows no `--rev-id`"
    assert down_revision, "the guide's migration has no `down_revision`"
    assert int(rev_id[1]) == revisions[-1] + 1, "a migration was added: renumber the guide's example"
    assert int(down_revision[1]) == revisions[-1]
