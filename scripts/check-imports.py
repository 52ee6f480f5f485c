#!/usr/bin/env python3
"""Checks that every module a target imports is one of its declared dependencies in Package.swift.

SwiftPM lets a target import any module that reaches it transitively (KeywardServer could import Crypto
because KeywardCore depends on it), and `--explicit-target-dependency-import-check error` does not catch
that for this package. An undeclared import breaks as soon as the dependency it rode in on changes, so CI
runs this check:

    python3 scripts/check-imports.py [--package-path DIR ...] [--quiet]

By default it checks the root package and the fuzzing package in Tests/Fuzz. For each target (sources,
executables and tests) it reads the `import`s of the target's Swift files and compares them with the
target's declared dependencies from `swift package dump-package`: local targets by name, products by the
modules their targets build. Product -> module names come from the dependency's own manifest
(`dump-package` run on `.build/checkouts/<package>`, or on the path of a local package); when no checkout
exists yet, the product name is taken as the module name except for the few products listed in
PRODUCT_MODULES_FALLBACK. Prints, per target, what is imported but not declared (exit 1) and, as
information, what is declared but never imported. Python 3 standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

# Modules of the toolchain and the operating system: never declared in a manifest.
SYSTEM_MODULES = {
    "Swift", "SwiftShims", "SwiftOnoneSupport", "_Concurrency", "_StringProcessing", "RegexBuilder",
    "Distributed", "Observation", "Synchronization", "_Differentiation", "_Volatile", "Cxx", "CxxStdlib",
    "Foundation", "FoundationEssentials", "FoundationInternationalization", "FoundationNetworking",
    "FoundationXML", "CoreFoundation", "Dispatch", "XCTest", "Testing",
    "Glibc", "Musl", "Bionic", "Android", "WASILibc", "WinSDK", "ucrt", "CRT", "Darwin", "os",
    "Security", "Network", "CryptoKit", "Combine", "SystemConfiguration", "LocalAuthentication",
    "PackageDescription", "PackagePlugin",
}

# Used only when a dependency's manifest cannot be read (no `.build/checkouts/<package>` yet, e.g.
# before `swift package resolve`): products whose modules are not just the product's own name. Read
# off the manifests of the versions this package resolves to (swift-nio 2.101, swift-crypto 4.5).
# Every other product is assumed to build a module of its own name (Crypto, X509, NIOCore, SQLKit,
# PostgresKit, FluentKit, HummingbirdTesting, ... all do).
PRODUCT_MODULES_FALLBACK = {
    ("swift-nio", "_NIOFileSystem"): ["_NIOFileSystem", "NIOFileSystem"],
}

IMPORT_KINDS = r"(?:typealias|struct|class|enum|protocol|let|var|func|actor|macro)"
IMPORT_RE = re.compile(
    r"^\s*(?:@[A-Za-z_][A-Za-z0-9_]*(?:\([^)]*\))?\s+)*"   # @testable, @_exported, @preconcurrency, @_spi(X)
    r"(?:(?:public|package|internal|fileprivate|private)\s+)?"  # access-level imports (SE-0409)
    r"import\s+(?:" + IMPORT_KINDS + r"\s+)?"
    r"([A-Za-z_][A-Za-z0-9_]*)"                              # the module: `import struct X.Y` -> X
)
DIRECTIVE_RE = re.compile(r"^\s*#\s*(if|elseif|else|endif)\b(.*)$")
CAN_IMPORT_RE = re.compile(r"canImport\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)")


def c99name(name: str) -> str:
    """The module name SwiftPM gives a target (`keyward-bench` -> `keyward_bench`)."""
    out = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return "_" + out if out[:1].isdigit() else out


def strip_comments_and_strings(text: str) -> str:
    """Blanks comments and string literals (keeping newlines) so only real code lines are parsed."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):  # Swift block comments nest
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    if text[i] == "\n":
                        out.append("\n")
                    i += 1
        elif c == '"' or (c == "#" and re.match(r'#+"', text[i:i + 64])):
            hashes = 0
            while i + hashes < n and text[i + hashes] == "#":
                hashes += 1
            start = i + hashes
            multiline = text.startswith('"""', start)
            quote = '"""' if multiline else '"'
            close = quote + "#" * hashes
            i = start + len(quote)
            while i < n and not text.startswith(close, i):
                if text[i] == "\\" and hashes == 0:
                    i += 1
                if i < n and text[i] == "\n":
                    out.append("\n")
                i += 1
            i += len(close)
            out.append('""')
        else:
            out.append(c)
            i += 1
    return "".join(out)


def imports_of(path: Path) -> tuple[set[str], set[str]]:
    """(imports, imports guarded by `#if canImport(<that module>)`) of one Swift file."""
    code = strip_comments_and_strings(path.read_text(encoding="utf-8", errors="replace"))
    plain: set[str] = set()
    guarded: set[str] = set()
    stack: list[set[str]] = []  # per open #if: the canImport() names of the branch we are in
    for line in code.splitlines():
        directive = DIRECTIVE_RE.match(line)
        if directive:
            kind, condition = directive.groups()
            if kind == "if":
                stack.append(set(CAN_IMPORT_RE.findall(condition)))
            elif kind in ("elseif", "else") and stack:
                stack[-1] = set(CAN_IMPORT_RE.findall(condition)) if kind == "elseif" else set()
            elif kind == "endif" and stack:
                stack.pop()
            continue
        match = IMPORT_RE.match(line)
        if not match:
            continue
        module = match.group(1)
        if any(module in names for names in stack):
            guarded.add(module)
        else:
            plain.add(module)
    return plain, guarded


def dump_package(package_dir: Path, scratch: str) -> dict | None:
    """`swift package dump-package` of a package, or None if it cannot be read."""
    if not (package_dir / "Package.swift").is_file():
        return None
    # A scratch path of our own: the package's .build may be locked by a build running at the same time,
    # and dump-package must not write into a dependency's checkout.
    result = subprocess.run(
        ["swift", "package", "--package-path", str(package_dir), "--scratch-path", scratch, "dump-package"],
        capture_output=True, text=True,
    )
    if result.returncode != 0:
        print(f"warning: dump-package failed in {package_dir}: {result.stderr.strip()[:500]}", file=sys.stderr)
        return None
    return json.loads(result.stdout)


def target_dir(package_dir: Path, target: dict) -> Path:
    if target.get("path"):
        return package_dir / target["path"]
    roots = ["Tests", "Sources", "Source", "src", "srcs"] if target["type"] == "test" else \
        ["Sources", "Source", "src", "srcs"]
    for root in roots:
        candidate = package_dir / root / target["name"]
        if candidate.is_dir():
            return candidate
    return package_dir / roots[0] / target["name"]


def swift_files(package_dir: Path, target: dict) -> list[Path]:
    base = target_dir(package_dir, target)
    excluded = [(base / e).resolve() for e in target.get("exclude", [])]
    if target.get("sources"):
        starts = [base / s for s in target["sources"]]
    else:
        starts = [base]
    files: list[Path] = []
    for start in starts:
        candidates = [start] if start.is_file() else sorted(start.rglob("*.swift"))
        for f in candidates:
            resolved = f.resolve()
            if f.suffix == ".swift" and not any(resolved == e or e in resolved.parents for e in excluded):
                files.append(f)
    return files


class Packages:
    """Product -> module names of the dependency packages of one root package."""

    def __init__(self, package_dir: Path, manifest: dict, scratch: str, checkout_dirs: list[Path]):
        self.scratch = scratch
        self.checkout_dirs = checkout_dirs
        self.deps: dict[str, dict] = {}  # identity or declared name -> {"dir": Path|None, "identity": str}
        for dep in manifest.get("dependencies", []):
            for kind, entries in dep.items():
                entry = entries[0]
                identity = entry["identity"]
                local = Path(entry["path"]) if kind == "fileSystem" and entry.get("path") else None
                info = {"identity": identity, "dir": local, "products": None}
                self.deps[identity] = info
                if entry.get("nameForTargetDependencyResolutionOnly"):
                    self.deps[entry["nameForTargetDependencyResolutionOnly"]] = info
        self.notes: list[str] = []

    def _products(self, package: str) -> dict[str, list[str]] | None:
        info = self.deps.get(package) or self.deps.get(package.lower())
        if info is None:
            return None
        if info["products"] is None:
            directory = info["dir"]
            if directory is None:
                for checkouts in self.checkout_dirs:
                    if (checkouts / info["identity"] / "Package.swift").is_file():
                        directory = checkouts / info["identity"]
                        break
            manifest = dump_package(directory, self.scratch) if directory else None
            if manifest is None:
                self.notes.append(info["identity"])
                info["products"] = {}
            else:
                info["products"] = {
                    p["name"]: [c99name(t) for t in p["targets"]] for p in manifest.get("products", [])
                }
        return info["products"]

    def modules(self, product: str, package: str | None) -> list[str]:
        packages = [package] if package else list({i["identity"] for i in self.deps.values()})
        for name in packages:
            products = self._products(name)
            if products and product in products:
                return products[product]
        if package and (package, product) in PRODUCT_MODULES_FALLBACK:
            return PRODUCT_MODULES_FALLBACK[(package, product)]
        return [c99name(product)]

    def all_modules(self) -> set[str]:
        """Every module any product of a dependency package builds."""
        modules: set[str] = set()
        for identity in {i["identity"] for i in self.deps.values()}:
            for names in (self._products(identity) or {}).values():
                modules |= set(names)
        return modules


def check_package(package_dir: Path, root_checkouts: Path, scratch: str, quiet: bool) -> int:
    manifest = dump_package(package_dir, scratch)
    if manifest is None:
        print(f"error: cannot read the manifest of {package_dir}")
        return 1
    checkout_dirs = [package_dir / ".build" / "checkouts", root_checkouts]
    packages = Packages(package_dir, manifest, scratch, checkout_dirs)
    local = {t["name"]: c99name(t["name"]) for t in manifest["targets"]}
    all_local_modules = set(local.values())
    missing_total = 0
    print(f"== {manifest['name']} ({package_dir})")
    for target in sorted(manifest["targets"], key=lambda t: t["name"]):
        if target["type"] in ("system", "binary", "plugin", "macro"):
            continue
        own = c99name(target["name"])
        declared: dict[str, str] = {}  # module -> how it is declared
        for dep in target.get("dependencies", []):
            (kind, value), = dep.items()
            if kind == "target" or (kind == "byName" and value[0] in local):
                declared[local.get(value[0], c99name(value[0]))] = value[0]
            elif kind in ("product", "byName"):
                product, package = value[0], (value[1] if kind == "product" else None)
                aliases = (value[2] or {}) if kind == "product" else {}
                for module in packages.modules(product, package):
                    declared[aliases.get(module, module)] = f"{product} ({package or 'by name'})"
        imported: dict[str, set[str]] = {}
        guarded: dict[str, set[str]] = {}
        files = swift_files(package_dir, target)
        for f in files:
            plain, conditional = imports_of(f)
            for module in plain:
                imported.setdefault(module, set()).add(str(f.relative_to(package_dir)))
            for module in conditional:
                guarded.setdefault(module, set()).add(f"{f.relative_to(package_dir)} under #if canImport")
        # An import under `#if canImport(X)` of a module no package here provides (a system module
        # of some platform) is optional by construction; one of our or our dependencies' modules is not.
        known = all_local_modules | set(declared)
        if set(guarded) - known - SYSTEM_MODULES:
            known |= packages.all_modules()
        for module, where in guarded.items():
            if module in known and module not in SYSTEM_MODULES:
                imported.setdefault(module, set()).update(where)
        missing = sorted(m for m in imported if m not in declared and m not in SYSTEM_MODULES and m != own)
        unused = sorted({how for m, how in declared.items() if m not in imported}
                        - {how for m, how in declared.items() if m in imported})
        missing_total += len(missing)
        if not missing and not unused and quiet:
            continue
        status = "MISSING " + ", ".join(missing) if missing else "ok"
        print(f"{target['name']} [{target['type']}, {len(files)} files]: {status}")
        for module in missing:
            where = sorted(imported[module])
            print(f"  imported but not declared: {module}  (in {', '.join(where[:3])}"
                  f"{', ...' if len(where) > 3 else ''})")
        for how in unused:
            print(f"  info: declared but not imported: {how}")
    if packages.notes:
        print(f"note: no checkout of {', '.join(sorted(set(packages.notes)))}: took their products to build "
              f"modules of their own names (`swift package resolve` first to read their manifests)")
    return missing_total


def main() -> int:
    root = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--package-path", action="append", type=Path,
                        help="a package to check (repeatable); default: the root package and Tests/Fuzz")
    parser.add_argument("--quiet", action="store_true", help="print only targets with something to say")
    args = parser.parse_args()
    paths = args.package_path or [root] + ([root / "Tests" / "Fuzz"]
                                           if (root / "Tests" / "Fuzz" / "Package.swift").is_file() else [])
    missing = 0
    with tempfile.TemporaryDirectory(prefix="check-imports-") as scratch:
        for path in paths:
            missing += check_package(path.resolve(), root / ".build" / "checkouts", scratch, args.quiet)
    if missing:
        print(f"FAILED: {missing} imported module(s) not declared as dependencies in Package.swift "
              f"(add them to the target's `dependencies:`, products as .product(name:package:))")
        return 1
    print("all imports declared")
    return 0


if __name__ == "__main__":
    sys.exit(main())
