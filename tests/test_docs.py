"""The repository stands on its own, and `docs/api.md` describes the schema clients build on."""

import re
import subprocess
from pathlib import Path

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    InputValueDefinitionNode,
    build_schema,
    print_ast,
)
from graphql.type import specified_scalar_types

ROOT = Path(__file__).resolve().parent.parent
API_DOC = ROOT / "docs" / "api.md"
SCHEMA = ROOT / "schema.graphql"
# The sibling folder the project was once specified in; written as a pattern so this file does not match it.
OUTSIDE_REFERENCE = re.compile(rb"\.\./shared\b")
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCED_GRAPHQL = re.compile(r"^```graphql\n(.*?)^```", re.MULTILINE | re.DOTALL)


def repository_files() -> list[Path]:
    """Files tracked by git, and new ones not ignored: what a commit would hold."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the repository's files cannot be listed")
    paths = [ROOT / name for name in listed.decode().split("\0") if name]
    return [path for path in paths if path.is_file()]


def test_no_file_refers_outside_the_repository():
    offenders = [
        str(path.relative_to(ROOT)) for path in repository_files() if OUTSIDE_REFERENCE.search(path.read_bytes())
    ]
    assert not offenders, f"these files refer to a folder outside the repository: {offenders}"


def test_relative_links_in_the_docs_point_at_files_of_the_repository():
    broken = []
    for page in [path for path in repository_files() if path.suffix == ".md"]:
        for target in MARKDOWN_LINK.findall(page.read_text()):
            if target.startswith(("http://", "https://", "mailto:", "#")):
                continue
            resolved = (page.parent / target.partition("#")[0]).resolve()
            if not resolved.is_relative_to(ROOT) or not resolved.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert not broken, f"links to files that are not in the repository: {broken}"


def test_the_api_doc_shows_the_schema_exactly():
    """Adding, removing or retyping anything in `schema.graphql` needs the same change in `docs/api.md`."""
    documented, actual = outline(documented_schema()), outline(build_schema(SCHEMA.read_text()))
    differences = [f"docs/api.md lacks {name}: {actual[name]}" for name in sorted(actual.keys() - documented.keys())]
    differences += [
        f"docs/api.md has {name}: {documented[name]}, which schema.graphql lacks"
        for name in sorted(documented.keys() - actual.keys())
    ]
    differences += [
        f"docs/api.md says {name}: {documented[name]}, schema.graphql says {actual[name]}"
        for name in sorted(documented.keys() & actual.keys())
        if documented[name] != actual[name]
    ]
    assert not differences, "\n".join(differences)


def test_the_documented_codegen_config_maps_every_custom_scalar():
    scalars_line = re.search(r"scalars: \{(.*?)\}", API_DOC.read_text())
    assert scalars_line, "docs/api.md shows no codegen `scalars: {...}` mapping"
    mapped = set(re.findall(r"(\w+):", scalars_line.group(1)))
    custom = {
        name
        for name, graphql_type in build_schema(SCHEMA.read_text()).type_map.items()
        if isinstance(graphql_type, GraphQLScalarType) and name not in specified_scalar_types
    }
    assert custom <= mapped, f"the codegen config in docs/api.md does not map {sorted(custom - mapped)}"


def documented_schema() -> GraphQLSchema:
    """The SDL of the "Schema" section of `docs/api.md` (up to the next section of its level)."""
    text = API_DOC.read_text()
    start = text.index("\n## Schema\n")
    end = text.find("\n## ", start + 1)
    blocks = FENCED_GRAPHQL.findall(text[start : end if end != -1 else None])
    assert blocks, "docs/api.md's Schema section has no ```graphql block"
    return build_schema("\n".join(blocks))


def outline(schema: GraphQLSchema) -> dict[str, str]:
    """Every named type, field, argument, input field, enum value and union member, and its type."""
    entries: dict[str, str] = {}
    for name, graphql_type in schema.type_map.items():
        if name.startswith("__") or name in specified_scalar_types:
            continue
        entries[name] = type(graphql_type).__name__.removeprefix("GraphQL")
        if isinstance(graphql_type, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in graphql_type.fields.items():
                entries[f"{name}.{field_name}"] = str(field.type)
                for arg_name, arg in field.args.items():
                    entries[f"{name}.{field_name}({arg_name})"] = _with_default(str(arg.type), arg.ast_node)
        elif isinstance(graphql_type, GraphQLInputObjectType):
            for field_name, field in graphql_type.fields.items():
                entries[f"{name}.{field_name}"] = _with_default(str(field.type), field.ast_node)
        elif isinstance(graphql_type, GraphQLEnumType):
            entries.update({f"{name}.{value}": "value" for value in graphql_type.values})
        elif isinstance(graphql_type, GraphQLUnionType):
            entries.update({f"{name} | {member.name}": "member" for member in graphql_type.types})
    return entries


def _with_default(type_name: str, definition: InputValueDefinitionNode | None) -> str:
    """The type, and the default as the SDL writes it (both schemas here are built from SDL)."""
    default = definition.default_value if definition else None
    return type_name if default is None else f"{type_name} = {print_ast(default)}"
