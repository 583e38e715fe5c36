#!/usr/bin/env python3
"""Writes AkshareWeb's bundled snapshot of AKShare's interface registry.

    scripts/akshare-registry.py [AKSHARE_CHECKOUT] [-o OUTPUT]

AKSHARE_CHECKOUT is a folder holding the `akshare` package (a git checkout of akfamily/akshare, or the
site-packages folder of an installation); without it, the installed package is used when `import akshare`
works. The snapshot keeps facts only: for every entry of akshare/data/interfaces.json its name, module and
category, the parameters of the function's real `def` (names and defaults read from the code with `ast`,
the registry's type where it lists one) and the registry's output columns (name, type). The registry's
prose (desc, example, limit_desc, url) is left out on purpose: AkshareWeb imports a full registry on top
when one is configured.

Only the standard library is used, and AKShare is never imported for its functions (importing it pulls in
pandas and friends); the code is read, not run.
"""

import argparse
import ast
import json
import os
import sys

DEFAULT_OUTPUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "AkshareWeb.Features",
                              "Interfaces", "Registry", "akshare-interfaces.json")


def installed_checkout():
    """The folder above an installed akshare package, found without executing akshare's __init__."""
    import importlib.util
    spec = importlib.util.find_spec("akshare")
    if spec is None or not spec.submodule_search_locations:
        return None
    return os.path.dirname(list(spec.submodule_search_locations)[0])


def read_version(package):
    path = os.path.join(package, "_version.py")
    if os.path.exists(path):
        for node in ast.parse(open(path, encoding="utf-8").read()).body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__version__" for t in node.targets):
                return ast.literal_eval(node.value)
    tree = ast.parse(open(os.path.join(package, "__init__.py"), encoding="utf-8").read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__version__" for t in node.targets):
            return ast.literal_eval(node.value)
    return "unknown"


def exported_modules(package):
    """name -> dotted module, from akshare/__init__.py's `from akshare.x import name` lines."""
    tree = ast.parse(open(os.path.join(package, "__init__.py"), encoding="utf-8").read())
    where = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("akshare"):
            for alias in node.names:
                # A later import of the same name wins, as it does when Python runs the file.
                where[alias.asname or alias.name] = (node.module, alias.name)
    return where


class Package:
    """Parses akshare's modules on demand and finds top-level function definitions in them."""

    def __init__(self, root):
        self.root = root
        self.trees = {}
        self.index = None

    def module_path(self, dotted):
        base = os.path.join(self.root, *dotted.split("."))
        for candidate in (base + ".py", os.path.join(base, "__init__.py")):
            if os.path.exists(candidate):
                return candidate
        return None

    def tree(self, path):
        if path not in self.trees:
            try:
                self.trees[path] = ast.parse(open(path, encoding="utf-8").read())
            except (SyntaxError, UnicodeDecodeError, OSError):
                self.trees[path] = None
        return self.trees[path]

    def find_in(self, dotted, name, depth=0):
        path = self.module_path(dotted)
        tree = self.tree(path) if path else None
        if tree is None or depth > 4:
            return None
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
                return node, dotted
        # Re-exported: `from akshare.y import name` inside the module.
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("akshare"):
                for alias in node.names:
                    if (alias.asname or alias.name) == name:
                        return self.find_in(node.module, alias.name, depth + 1)
        return None

    def search(self, name):
        """Every top-level def of the package by name; used when __init__ and the registry's module miss."""
        if self.index is None:
            self.index = {}
            package = os.path.join(self.root, "akshare")
            for folder, _, files in os.walk(package):
                for file in sorted(files):
                    if not file.endswith(".py"):
                        continue
                    path = os.path.join(folder, file)
                    tree = self.tree(path)
                    if tree is None:
                        continue
                    dotted = os.path.relpath(path[:-3], self.root).replace(os.sep, ".").removesuffix(".__init__")
                    for node in tree.body:
                        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                            self.index.setdefault(node.name, (node, dotted))
        return self.index.get(name)


def render_default(node):
    """A default as the Python literal it is (strings unquoted), or its source text when it is an expression."""
    try:
        value = ast.literal_eval(node)
    except ValueError:
        return ast.unparse(node)
    if value is None:
        return "None"
    if isinstance(value, str):
        return value
    return repr(value)


def signature(function):
    args = function.args
    positional = args.posonlyargs + args.args
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    params = [(a.arg, d) for a, d in zip(positional, defaults)]
    params += list(zip((a.arg for a in args.kwonlyargs), args.kw_defaults))
    return [(name, None if default is None else render_default(default)) for name, default in params if name not in ("self", "cls")]


def registry_type(value):
    return value if isinstance(value, str) and value not in ("", "-") else None


def main():
    parser = argparse.ArgumentParser(description="Writes AkshareWeb's snapshot of AKShare's interface registry.")
    parser.add_argument("checkout", nargs="?", help="folder holding the akshare package (default: the installed one)")
    parser.add_argument("-o", "--output", default=DEFAULT_OUTPUT)
    options = parser.parse_args()

    root = options.checkout or installed_checkout()
    if root is None:
        sys.exit("akshare is not installed; give the folder of an AKShare checkout")
    root = os.path.abspath(root)
    if not os.path.isdir(os.path.join(root, "akshare")) and os.path.basename(root) == "akshare":
        root = os.path.dirname(root)
    package_dir = os.path.join(root, "akshare")
    registry_path = os.path.join(package_dir, "data", "interfaces.json")
    if not os.path.exists(registry_path):
        sys.exit(f"{registry_path} does not exist: AKShare ships its registry since 1.18.86")

    registry = json.load(open(registry_path, encoding="utf-8"))
    entries = registry["interfaces"] if isinstance(registry, dict) else registry
    package = Package(root)
    exports = exported_modules(package_dir)
    interfaces, unresolved = [], []
    for entry in sorted(entries, key=lambda e: e["name"]):
        name = entry["name"]
        found = None
        if name in exports:
            found = package.find_in(*exports[name])
        if found is None and entry.get("module"):
            found = package.find_in(entry["module"], name)
        if found is None:
            found = package.search(name)
        listed = {p.get("name"): registry_type(p.get("type")) for p in entry.get("params") or [] if p.get("name") not in (None, "-")}
        if found is None:
            # No code to read: the registry's names are all there is, without defaults.
            unresolved.append(name)
            params = [{"name": p, "type": t, "default": None} for p, t in listed.items()]
        else:
            params = [{"name": p, "type": listed.get(p), "default": d} for p, d in signature(found[0])]
        interfaces.append({
            "name": name,
            "module": entry.get("module") or (found[1] if found else None),
            "category": entry.get("category") or "others",
            "params": params,
            "outputs": [{"name": o.get("name"), "type": registry_type(o.get("type"))}
                        for o in entry.get("outputs") or [] if o.get("name") not in (None, "-")],
        })

    snapshot = {"akshare_version": read_version(package_dir), "interfaces": interfaces}
    os.makedirs(os.path.dirname(os.path.abspath(options.output)), exist_ok=True)
    with open(options.output, "w", encoding="utf-8") as out:
        # One interface a line: small, and a new AKShare version's diff reads entry by entry.
        out.write('{"akshare_version": ' + json.dumps(snapshot["akshare_version"]) + ', "interfaces": [\n')
        out.write(",\n".join(json.dumps(i, ensure_ascii=False) for i in interfaces))
        out.write("\n]}\n")
    print(f"{len(interfaces)} interfaces of AKShare {snapshot['akshare_version']} -> {os.path.relpath(options.output)}"
          + (f"; no def found for {len(unresolved)}: {', '.join(unresolved[:10])}" if unresolved else ""), file=sys.stderr)


if __name__ == "__main__":
    main()
