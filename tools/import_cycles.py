"""Lists every import circle among our own modules, imports inside functions included; exit 1 if there is one.

`python -m tools.import_cycles` (run by `make lint`). import-linter's contracts hold the layers; this holds what
they cannot say in one rule: that no two of our modules reach each other by any path.
"""

import importlib.util
import sys

import grimp

PACKAGES = ("studio", "workspace", "endpoints", "jobs", "api", "cli", "engine", "bench", "tools")


def strongly_connected(graph: grimp.ImportGraph, modules: set[str]) -> list[list[str]]:
    """Tarjan's algorithm over module-to-module imports (iterative: the graph has hundreds of modules)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    counter = 0
    for root in sorted(modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root) & modules)))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child) & modules))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def main() -> int:
    present = [package for package in PACKAGES if importlib.util.find_spec(package)]
    graph = grimp.build_graph(*present, cache_dir=None)
    modules = {m for m in graph.modules if m.split(".")[0] in present}
    circles = strongly_connected(graph, modules)
    for circle in circles:
        print(f"Import circle of {len(circle)} modules:")
        for module in circle:
            inside = sorted(graph.find_modules_directly_imported_by(module) & set(circle))
            print(f"  {module} -> {', '.join(inside)}")
    print(f"{len(modules)} modules, {len(circles)} import circle(s).")
    return 1 if circles else 0


if __name__ == "__main__":
    sys.exit(main())
