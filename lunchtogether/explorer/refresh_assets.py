"""Rewrites the explorer's third-party files in `static/` from the pinned npm tarballs.

The explorer must work with no internet access, so GraphiQL, React and the fonts are kept in the
package, each beside its licence, and `static/ASSETS.md` says where every file came from. To
update one: change its version and integrity below (`npm view graphiql@4.1.2 dist.integrity`), run

    uv run python -m lunchtogether.explorer.refresh_assets

then load the explorer and run `tests/test_explorer.py`. Only the standard library is used, and a
tarball whose hash is not the pinned one is refused before anything is written.
"""

import base64
import hashlib
import io
import re
import shutil
import sys
import tarfile
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REGISTRY = "https://registry.npmjs.org"
STATIC = Path(__file__).parent / "static"
MANIFEST = "ASSETS.md"
DOWNLOAD_TIMEOUT_SECONDS = 60

# A bundle's pointer to a source map that is not shipped: browsers' tools would ask for it in vain.
_SOURCE_MAP_COMMENT = re.compile(r"\n//# sourceMappingURL=\S+\s*$|/\*# sourceMappingURL=\S+ \*/\s*$")
# GraphiQL's stylesheet carries its fonts as data: URLs; ours come as files (see explorer.css), so
# the page's policy needs no `font-src data:` and the fonts keep their own licence beside them.
_FONT_FACE_RULE = re.compile(r"@font-face\s*\{[^}]*\}\s*")


def _without_source_map(content: bytes) -> bytes:
    return _SOURCE_MAP_COMMENT.sub("\n", content.decode()).encode()


def _without_source_map_or_fonts(content: bytes) -> bytes:
    return _FONT_FACE_RULE.sub("", _without_source_map(content).decode()).encode()


@dataclass(frozen=True)
class Asset:
    """One file taken from a tarball: where it is in the tarball, where it goes under `static/`."""

    source: str
    target: str
    change: Callable[[bytes], bytes] | None = None
    change_note: str = ""


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    integrity: str
    """npm's `dist.integrity` (`sha512-<base64>`) of the tarball."""
    licence: str
    assets: tuple[Asset, ...] = field(default=())

    @property
    def tarball_url(self) -> str:
        return f"{REGISTRY}/{self.name}/-/{self.name.rpartition('/')[2]}-{self.version}.tgz"

    @property
    def directory(self) -> str:
        """Its folder under `static/`: the package's name without a scope."""
        return self.name.rpartition("/")[2]


def _fonts(family: str, variants: tuple[str, ...]) -> tuple[Asset, ...]:
    return tuple(Asset(f"files/{family}-latin-{v}.woff2", f"{family}-latin-{v}.woff2") for v in variants)


PACKAGES = (
    Package(
        "graphiql",
        "4.1.2",
        "sha512-rNlzQIAzm6i2KBXmVQWBgLvt0TloxFVB2d18bukvdsvjEuFDHsKx5IVOomL1W1o5WW+tE54+ioHb2AEKzO2cUg==",
        licence="MIT",
        assets=(
            Asset("graphiql.min.js", "graphiql.min.js", _without_source_map, "source map comment removed"),
            Asset(
                "graphiql.min.css",
                "graphiql.min.css",
                _without_source_map_or_fonts,
                "`@font-face` rules (fonts as data: URLs) and source map comment removed",
            ),
        ),
    ),
    Package(
        "react",
        "18.3.1",
        "sha512-wS+hAgJShR0KhEvPJArfuPVN1+Hz1t0Y6n5jLrGQbkb4urgPE/0Rve+1kMB1v/oWgHgm4WIcV+i7F2pTVj+2iQ==",
        licence="MIT",
        assets=(Asset("umd/react.production.min.js", "react.production.min.js"),),
    ),
    Package(
        "react-dom",
        "18.3.1",
        "sha512-5m4nQKp+rZRb09LNH59GM4BxTh9251/ylbKIbpe7TpGxfJ+9kv6BLkLBXIjjspbgbnIBNqlI23tRnTWT0snUIw==",
        licence="MIT",
        assets=(Asset("umd/react-dom.production.min.js", "react-dom.production.min.js"),),
    ),
    Package(
        "@fontsource/roboto",
        "5.3.0",
        "sha512-BapRJOWYP+LZ21zp+wBQjfpPYKRoxc4LspJ/RLuI+HSMBD5u/X4O+ESDrSvEqDSy0rAl7GwBJ+09mdc16cVQ1Q==",
        licence="OFL-1.1",
        assets=_fonts("roboto", ("400-normal", "400-italic", "500-normal", "500-italic")),
    ),
    Package(
        "@fontsource/fira-code",
        "5.3.0",
        "sha512-EJL968RJRkakubAj/coU8pSUaeTE5UNoRjtzAr6kGiSZ3jWuN8/AKWHwym/PFUaQL1q7IL/H+EXs4358YhrTBQ==",
        licence="OFL-1.1",
        assets=_fonts("fira-code", ("400-normal",)),
    ),
)


def download(package: Package) -> bytes:
    """The package's tarball, refused unless its sha512 is the pinned one."""
    with urllib.request.urlopen(package.tarball_url, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response:  # noqa: S310 - a constant https URL
        tarball = response.read()
    actual = "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode()
    if actual != package.integrity:
        raise SystemExit(f"{package.tarball_url}: integrity {actual}, pinned {package.integrity}: not written")
    return tarball


def unpack(package: Package, tarball: bytes) -> dict[str, bytes]:
    """The package's files, by their name under `static/`, its LICENSE included."""
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:

        def read(name: str) -> bytes:
            member = archive.extractfile(f"package/{name}")
            if member is None:
                raise SystemExit(f"{package.tarball_url} has no file package/{name}")
            return member.read()

        files = {f"{package.directory}/LICENSE": read("LICENSE")}
        for asset in package.assets:
            content = read(asset.source)
            files[f"{package.directory}/{asset.target}"] = asset.change(content) if asset.change else content
    return files


def manifest(files_by_package: dict[Package, dict[str, bytes]]) -> str:
    lines = [
        "# The explorer's third-party files",
        "",
        "Written by `lunchtogether/explorer/refresh_assets.py` (do not edit by hand; change the pins",
        "there and run it). `explorer.js` and `explorer.css` are ours. Every file below is served",
        "by this server under `/graphql/explorer/` in development.",
    ]
    for package, files in files_by_package.items():
        changes = {f"{package.directory}/{a.target}": a.change_note for a in package.assets}
        lines += [
            "",
            f"## {package.name}@{package.version} ({package.licence}, `{package.directory}/LICENSE`)",
            "",
            f"From {package.tarball_url} (`{package.integrity}`).",
            "",
            "| File | sha256 | Changed |",
            "| --- | --- | --- |",
        ]
        lines += [
            f"| `{name}` | `{hashlib.sha256(content).hexdigest()}` | {changes.get(name) or '-'} |"
            for name, content in files.items()
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    files_by_package = {package: unpack(package, download(package)) for package in PACKAGES}
    for package, files in files_by_package.items():
        shutil.rmtree(STATIC / package.directory, ignore_errors=True)
        for name, content in files.items():
            (STATIC / name).parent.mkdir(parents=True, exist_ok=True)
            (STATIC / name).write_bytes(content)
    (STATIC / MANIFEST).write_text(manifest(files_by_package))
    sys.stdout.write(f"{sum(map(len, files_by_package.values()))} files written under {STATIC}\n")


if __name__ == "__main__":
    main()
