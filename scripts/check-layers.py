#!/usr/bin/env python3
"""The module import graph of each crate has no circles, and the issuer's domain does not reach
up into the web layer.

Each `.rs` file under a crate's `src/` is a node. An edge goes from a file to every module file a
path in it names: `crate::a::b::C` resolves to the deepest of `a/b.rs`, `a/b/mod.rs`, `a.rs`,
`a/mod.rs` that exists; `super::` and `self::` resolve from the file's own module; a plain
`use child::X` in a `mod.rs` names its child. Comments and `#[cfg(test)]` modules are left out:
a unit test may use what sits above the module it tests. A file that names itself is no edge.

Usage: scripts/check-layers.py [crate-dir ...]   (default: every workspace member)
Exit status 1 with the circles (and the forbidden imports) printed, 0 when there are none.
"""

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRATES = ["core", "verifier", "issuer", "wallet-cli", "tests", "testkit", "sample-images"]

# The issuer's modules that are not the web layer's: they must not mention axum, HeaderMap or
# `crate::api` (the HTTP layer, the configuration root and the binary sit above them).
ISSUER_WEB = ("api", "config", "service", "bin", "lib")
FORBIDDEN = re.compile(r"\baxum\b|\bHeaderMap\b|crate::api\b")


def strip(text):
    """The code without comments, string contents and `#[cfg(test)]` modules."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    out = []
    for line in text.split("\n"):
        line = re.sub(r'"(?:[^"\\]|\\.)*"', '""', line)
        out.append(re.sub(r"//.*", "", line))
    text = "\n".join(out)
    # Drop `#[cfg(test)] mod x { ... }` by brace matching.
    while True:
        m = re.search(r"#\[cfg\(test\)\]\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+\w+\s*\{", text)
        if not m:
            return text
        depth, i = 1, m.end()
        while depth and i < len(text):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        text = text[: m.start()] + text[i:]


def module_of(src, path):
    """`a/b.rs` and `a/b/mod.rs` are module ["a", "b"]; `lib.rs` and `main.rs` are []."""
    rel = os.path.relpath(path, src)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib", "main"):
        rel = rel[:-1]
    return rel


def file_of(src, module):
    """The file of the deepest existing module along `module`."""
    for n in range(len(module), -1, -1):
        head = module[:n]
        if not head:
            for root in ("lib.rs", "main.rs"):
                if os.path.exists(os.path.join(src, root)):
                    return os.path.join(src, root)
            return None
        for candidate in (os.path.join(src, *head) + ".rs", os.path.join(src, *head, "mod.rs")):
            if os.path.exists(candidate):
                return candidate
    return None


PATH = re.compile(r"\b(crate|super|self)((?:::\w+)+)")
USE_TREE = re.compile(r"\buse\s+(crate|super|self|\w+)::\{([^;]*)\};", re.S)


def reexports(src, path, code):
    """Names a module file re-exports (`pub use child::{X, Y};`), with the module each comes
    from, so that a path through the re-export reaches the file that defines the name."""
    own = module_of(src, path)
    out = {}
    for body in re.findall(r"\bpub(?:\([^)]*\))?\s+use\s+([^;]+);", code, flags=re.S):
        body = " ".join(body.split())
        m = re.match(r"(?:self::)?([\w:]+?)::\{(.*)\}$", body)
        if m:
            prefix, names = m.group(1), [n.strip() for n in m.group(2).split(",")]
        else:
            prefix, _, name = body.rpartition("::")
            names = [name]
        parts = [p for p in prefix.split("::") if p and p != "self"]
        if not parts:
            continue
        if parts[0] == "crate":
            base = parts[1:]
        elif parts[0] == "super":
            base = own[:-1] + parts[1:]
        else:
            base = own + parts
        for name in names:
            name = name.split(" as ")[-1].strip()
            if re.match(r"\w+$", name):
                out[name] = base
    return out


REEXPORTS = {}


def edges(src, path, code):
    own = module_of(src, path)
    is_mod_file = os.path.basename(path) in ("mod.rs", "lib.rs", "main.rs")
    here = own if is_mod_file else own[:-1]  # the module `super`/children resolve against
    targets = set()

    def resolve(anchor, parts):
        if anchor == "crate":
            base = []
        elif anchor == "self":
            base = list(own)
        elif anchor == "super":
            base = list(own[:-1])
            while parts and parts[0] == "super":
                base, parts = base[:-1], parts[1:]
        else:  # a child module named directly in its parent
            base = list(own)
            parts = [anchor] + parts
            if not file_of_exact(src, base + [parts[0]]):
                return
        f = file_of(src, base + parts)
        # A name a module file re-exports is reached in the file that defines it.
        for _ in range(4):
            if not f or not parts:
                break
            module = module_of(src, f)
            if os.path.basename(f) not in ("mod.rs", "lib.rs", "main.rs"):
                break
            depth = len(module) - len(base)
            if depth < 0 or depth >= len(parts):
                break
            name = parts[depth]
            via = REEXPORTS.get(os.path.abspath(f), {}).get(name)
            if via is None:
                break
            base, parts = via, [name]
            f = file_of(src, base)
        if f and os.path.abspath(f) != os.path.abspath(path):
            targets.add(os.path.relpath(f, ROOT))

    # Grouped imports: `use crate::{a::X, b::{Y, Z}};` (one level of grouping is enough here).
    for anchor, tree in USE_TREE.findall(code):
        for member in re.split(r",(?![^{]*\})", tree):
            member = member.strip()
            if not member:
                continue
            head = re.split(r"::\{", member)[0]
            parts = [p for p in head.split("::") if p and p != "self" and re.match(r"\w+$", p)]
            if parts:
                resolve(anchor, parts)
    for anchor, rest in PATH.findall(code):
        resolve(anchor, [p for p in rest.split("::") if p])
    # A child module named directly in its parent (`use child::X;`, `child::f()`).
    if is_mod_file:
        for name in set(re.findall(r"\bmod\s+(\w+)\s*;", code)):
            for m in re.finditer(r"(?<![:\w])" + name + r"((?:::\w+)+)", code):
                resolve(name, [p for p in m.group(1).split("::") if p])
    return targets


def file_of_exact(src, module):
    p = os.path.join(src, *module)
    return os.path.exists(p + ".rs") or os.path.exists(os.path.join(p, "mod.rs"))


def circles(graph):
    """Strongly connected components with more than one file (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main(argv):
    crates = argv or CRATES
    failed = False
    for crate in crates:
        src = os.path.join(ROOT, crate, "src")
        if not os.path.isdir(src):
            continue
        graph = {}
        for dirpath, _, files in os.walk(src):
            for name in files:
                if name.endswith(".rs"):
                    path = os.path.join(dirpath, name)
                    code = strip(open(path, encoding="utf-8").read())
                    REEXPORTS[os.path.abspath(path)] = reexports(src, path, code)
        for dirpath, _, files in os.walk(src):
            for name in files:
                if not name.endswith(".rs"):
                    continue
                path = os.path.join(dirpath, name)
                code = strip(open(path, encoding="utf-8").read())
                rel = os.path.relpath(path, ROOT)
                graph[rel] = edges(src, path, code)
                module = module_of(src, path)
                if crate == "issuer" and (not module or module[0] not in ISSUER_WEB):
                    for m in FORBIDDEN.finditer(code):
                        print(f"{rel}: the domain mentions `{m.group(0)}`")
                        failed = True
        for comp in circles(graph):
            failed = True
            print(f"circle in {crate}: " + " -> ".join(comp))
            for a in comp:
                for b in sorted(graph[a]):
                    if b in comp:
                        print(f"  {a} -> {b}")
        n_edges = sum(len(v) for v in graph.values())
        print(f"{crate}: {len(graph)} files, {n_edges} imports")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
