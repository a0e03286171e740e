"""The project's size rules, checked on recolor/: no module over 500 lines, no function over 80
(decorators and docstring included). `python tests/test_code_size.py` lists the longest,
app.py included."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_MODULE, MAX_FUNCTION = 500, 80


def sources(app: bool = False) -> list[Path]:
    return sorted((ROOT / "recolor").rglob("*.py")) + ([ROOT / "app.py"] if app else [])


def function_lengths(path: Path) -> list[tuple[int, str]]:
    """(lines, qualified name) of every function and method in `path`."""
    out: list[tuple[int, str]] = []

    def walk(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                out.append((child.end_lineno - first + 1, f"{prefix}{child.name}"))
                walk(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                walk(child, f"{prefix}{child.name}.")
            else:
                walk(child, prefix)

    walk(ast.parse(path.read_text(), str(path)), "")
    return out


def test_no_module_over_500_lines() -> None:
    long = {p.relative_to(ROOT).as_posix(): n for p in sources()
            if (n := len(p.read_text().splitlines())) > MAX_MODULE}
    assert not long, long


def test_no_function_over_80_lines() -> None:
    long = [f"{p.relative_to(ROOT).as_posix()}:{name} {n}" for p in sources()
            for n, name in function_lengths(p) if n > MAX_FUNCTION]
    assert not long, long


def test_the_checker_sees_a_long_function(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text("class A:\n    @staticmethod\n    def g():\n" + "        x = 1\n" * 90)
    assert function_lengths(f) == [(92, "A.g")]


if __name__ == "__main__":  # the longest module and functions, for a report
    for p in sorted(sources(True), key=lambda p: -len(p.read_text().splitlines()))[:3]:
        print(len(p.read_text().splitlines()), p.relative_to(ROOT))
    for n, name in sorted(((n, f"{p.relative_to(ROOT)}:{q}") for p in sources(True)
                           for n, q in function_lengths(p)), reverse=True)[:5]:
        print(n, name)
