#!/usr/bin/python3
"""Checks the module graph of mtastsd: one direction, no cycles, includes = link lists.

Usage: check_module_graph.py SOURCE_DIR
Every module folder is one static library mtasts_<module>. For each module this reads the
`#include "<module>/..."` lines of its .hpp/.cpp files and the mtasts_* libraries its
CMakeLists.txt links, and fails when
  - an include or a link names a module outside the module's ALLOWED row (an upward edge),
  - a module includes another one it does not link, or links one it does not include,
  - the ALLOWED table itself has a cycle.
Prints the edges found and the lines of code per module (.hpp + .cpp). Stdlib only.
"""
import os
import re
import sys

# Who may depend on whom (README "Layout"). A new module gets a row; an edge is added here
# on purpose, never by accident.
ALLOWED = {
    "common": set(),
    "postfix": {"common"},
    "sts": {"common"},
    "net": {"common"},
    "cache": {"common", "sts"},
    "policy": {"common", "sts", "net", "cache", "postfix"},
    "server": {"common", "postfix", "net"},
    "tlsrpt": {"common", "postfix", "sts", "net", "cache", "policy"},
    "check": {"common", "sts", "net", "policy", "tlsrpt"},
    "daemon": {"common", "postfix", "sts", "net", "cache", "policy", "server", "tlsrpt", "check"},
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z_]+)/')
LINK_CALL = re.compile(r"target_link_libraries\s*\(\s*mtasts_([a-z_]+)(.*?)\)", re.S)
LIBRARY = re.compile(r"\bmtasts_([a-z_]+)\b")


def acyclic(graph):
    state = {}

    def visit(node, path):
        if state.get(node) == "done":
            return True
        if state.get(node) == "open":
            print(f"FAIL: cycle in ALLOWED: {' -> '.join(path + [node])}")
            return False
        state[node] = "open"
        ok = all(visit(dep, path + [node]) for dep in sorted(graph.get(node, ())))
        state[node] = "done"
        return ok

    return all(visit(n, []) for n in sorted(graph))


def module_includes(source_dir, module):
    found = {}
    folder = os.path.join(source_dir, module)
    for name in sorted(os.listdir(folder)):
        if not name.endswith((".hpp", ".cpp")):
            continue
        with open(os.path.join(folder, name), errors="replace") as f:
            for line in f:
                m = INCLUDE.match(line)
                if m and m.group(1) != module:
                    found.setdefault(m.group(1), f"{module}/{name}")
    return found


def module_links(source_dir, module):
    with open(os.path.join(source_dir, module, "CMakeLists.txt")) as f:
        text = re.sub(r"#[^\n]*", "", f.read())
    links = set()
    for m in LINK_CALL.finditer(text):
        if m.group(1) != module:
            continue
        links |= {lib for lib in LIBRARY.findall(m.group(2)) if lib != "options"}
    return links


def lines_of(source_dir, module):
    folder = os.path.join(source_dir, module)
    total = 0
    for name in os.listdir(folder):
        if name.endswith((".hpp", ".cpp")):
            with open(os.path.join(folder, name), errors="replace") as f:
                total += sum(1 for _ in f)
    return total


def main():
    source_dir = sys.argv[1]
    ok = acyclic(ALLOWED)
    on_disk = {d for d in os.listdir(source_dir)
               if os.path.isfile(os.path.join(source_dir, d, "CMakeLists.txt"))
               and d not in ("tests", "bench")}
    for module in sorted(on_disk - ALLOWED.keys()):
        print(f"FAIL: module {module}/ has no row in ALLOWED")
        ok = False
    counts = {}
    for module in sorted(ALLOWED):
        if module not in on_disk:
            print(f"FAIL: module {module}/ in ALLOWED has no folder with a CMakeLists.txt")
            ok = False
            continue
        includes = module_includes(source_dir, module)
        links = module_links(source_dir, module)
        for dep, where in sorted(includes.items()):
            if dep not in ALLOWED:
                continue  # not a module (e.g. "tests/...")
            if dep not in ALLOWED[module]:
                print(f"FAIL: {where} includes {dep}/: {module} may depend on {sorted(ALLOWED[module])} only")
                ok = False
            if dep not in links:
                print(f"FAIL: {where} includes {dep}/ but {module}/CMakeLists.txt does not link mtasts_{dep}")
                ok = False
        for dep in sorted(links):
            if dep not in ALLOWED[module]:
                print(f"FAIL: {module}/CMakeLists.txt links mtasts_{dep}: {module} may depend on "
                      f"{sorted(ALLOWED[module])} only")
                ok = False
            elif dep not in includes:
                print(f"FAIL: {module}/CMakeLists.txt links mtasts_{dep} but no {module}/ file includes {dep}/")
                ok = False
        print(f"{module:8} -> {', '.join(sorted(d for d in includes if d in ALLOWED)) or '-'}")
        counts[module] = lines_of(source_dir, module)
    total = sum(counts.values())
    print("lines (.hpp + .cpp): " + ", ".join(f"{m} {n} ({100 * n / total:.0f}%)" for m, n in counts.items())
          + f", total {total}")
    print("ok: module graph is one-directional" if ok else "module graph check FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
