"""Mutation testing of the core rules: does the suite fail when the code is wrong?

Each mutant is one small change to one module (a comparison, an operator, a constant, a
word dropped from a set, `and` for `or`, …), run against the tests that use that module, in a
copy of the repository so the working tree stays untouched. A mutant the tests do not fail
on "survives"; the score is the share killed. mutmut does not fit here (it rewrites every
function into a trampoline and runs the whole suite in its own tree); this is a few AST
rewrites, one module at a time, on one core.

    python -m tests.support.mutation                 # every module below
    python -m tests.support.mutation money values    # some of them
    python -m tests.support.mutation navigator --match "line 65:"   # only some mutants
    make mutation                                    # the same as the first line

Not part of CI: a full run takes several minutes per module.
"""

from __future__ import annotations

import argparse
import ast
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Target:
    path: str
    tests: tuple[str, ...]
    # Only these top-level functions/classes are mutated (None: the whole module).
    only: tuple[str, ...] | None = None


TARGETS = {
    "money": Target("backoffice/services/money.py",
                    ("tests/vouchers/test_money_boundaries.py", "tests/vouchers/test_money.py")),
    "navigator": Target("downline/navigator.py",
                        ("tests/downline/test_navigator.py", "tests/downline/test_downline.py")),
    "visibility": Target("downline/visibility.py",
                         ("tests/downline/test_visibility.py", "tests/downline/test_downline.py")),
    "vouchers": Target("backoffice/services/vouchers.py",
                       ("tests/vouchers/test_voucher_boundaries.py", "tests/vouchers/test_vouchers.py"),
                       only=("in_time_window", "check", "evaluate", "_refused", "_message")),
    "values": Target("imports/values.py", ("tests/imports/test_values.py", "tests/imports/test_imports.py")),
}

COMPARE_SWAPS = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
                 ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In,
                 ast.Is: ast.IsNot, ast.IsNot: ast.Is}
BINOP_SWAPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
               ast.FloorDiv: ast.Div, ast.Mod: ast.FloorDiv, ast.BitOr: ast.BitAnd,
               ast.BitAnd: ast.BitOr}


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _scopes(tree: ast.Module, only: tuple[str, ...] | None) -> list[ast.AST]:
    if only is None:
        return [tree]
    return [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name in only]


def mutation_points(tree: ast.Module, only=None) -> list[tuple[int, int, str]]:
    """(node index in ast.walk order, variant, description) for every mutant of the tree."""
    skip = _docstrings(tree)
    inside = {id(n) for scope in _scopes(tree, only) for n in ast.walk(scope)}
    skip |= {id(n) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr)
             for n in ast.walk(n)}  # f-string parts
    # Annotations are never evaluated (`from __future__ import annotations`).
    for n in ast.walk(tree):
        notes = [getattr(n, "annotation", None), getattr(n, "returns", None)]
        skip |= {id(m) for note in notes if note is not None for m in ast.walk(note)}
    # Translatable text (labels, messages): a changed word is no wrong rule, and the German
    # catalog would hide it anyway; the tests assert those texts exactly elsewhere.
    skip |= {id(a) for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
             and n.func.id in ("_", "_l") for a in n.args}
    points = []
    for index, node in enumerate(ast.walk(tree)):
        if id(node) not in inside or id(node) in skip:
            continue
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Compare):
            for k, op in enumerate(node.ops):
                if type(op) in COMPARE_SWAPS:
                    points.append((index, k, f"line {line}: {type(op).__name__} → "
                                   f"{COMPARE_SWAPS[type(op)].__name__}"))
        elif isinstance(node, ast.BinOp) and type(node.op) in BINOP_SWAPS:
            points.append((index, 0, f"line {line}: {type(node.op).__name__} → "
                           f"{BINOP_SWAPS[type(node.op)].__name__}"))
        elif isinstance(node, ast.BoolOp):
            points.append((index, 0, f"line {line}: {type(node.op).__name__} → other"))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub)):
            points.append((index, 0, f"line {line}: {type(node.op).__name__} dropped"))
        elif isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool):
                points.append((index, 0, f"line {line}: {value} → {not value}"))
            elif isinstance(value, int):
                points.append((index, 0, f"line {line}: {value} → {value + 1}"))
            elif isinstance(value, str):
                points.append((index, 0, f"line {line}: {value!r} → 'XX{value}XX'"))
        elif isinstance(node, (ast.Set, ast.Tuple, ast.List)) and len(node.elts) > 1 \
                and all(isinstance(e, ast.Constant) for e in node.elts):
            for k, elt in enumerate(node.elts):
                points.append((index, 100 + k, f"line {line}: {elt.value!r} dropped"))
        elif isinstance(node, ast.keyword) and isinstance(node.value, ast.Constant) \
                and node.value.value is None:
            continue
    return points


def mutate(source: str, point: tuple[int, int, str]) -> str:
    tree = ast.parse(source)
    index, variant, _ = point
    node = next(n for i, n in enumerate(ast.walk(tree)) if i == index)
    if isinstance(node, ast.Compare):
        node.ops[variant] = COMPARE_SWAPS[type(node.ops[variant])]()
    elif isinstance(node, ast.BinOp):
        node.op = BINOP_SWAPS[type(node.op)]()
    elif isinstance(node, ast.BoolOp):
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif isinstance(node, ast.UnaryOp):
        _replace(tree, node, node.operand)
    elif isinstance(node, ast.Constant):
        value = node.value
        node.value = (not value if isinstance(value, bool) else value + 1 if isinstance(value, int)
                      else f"XX{value}XX")
    else:
        del node.elts[variant - 100]
    return ast.unparse(ast.fix_missing_locations(tree))


def _replace(tree: ast.AST, old: ast.AST, new: ast.AST) -> None:
    for parent in ast.walk(tree):
        for name, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, name, new)
            elif isinstance(value, list) and any(v is old for v in value):
                setattr(parent, name, [new if v is old else v for v in value])


def _cpu_seconds() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _pytest(workdir: Path, tests: tuple[str, ...], cpu_limit: float | None = None) -> str:
    """'passed', 'failed' or 'timeout'. The limit is CPU time, not wall time: on a machine that
    others share, a run waiting for a core is slow but no endless loop (a wall-clock limit made
    most mutants "time out" there). A run that sleeps forever meets the wall-clock backstop."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-m", "pytest", "--db", "sqlite", "-q", "-x", "-p", "no:cacheprovider",
               "-p", "no:randomly", "-m", "not browser", *[t for t in tests if (workdir / t).exists()]]

    def limit_cpu():
        if cpu_limit:
            resource.setrlimit(resource.RLIMIT_CPU, (int(cpu_limit), int(cpu_limit) + 5))

    try:
        done = subprocess.run(command, cwd=workdir, env=env, capture_output=True, preexec_fn=limit_cpu,
                              timeout=max(20 * (cpu_limit or 0), 1800))
    except subprocess.TimeoutExpired:
        return "timeout"
    if done.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return "timeout"
    return "passed" if done.returncode == 0 else "failed"


def sample(points: list, size: int | None) -> list:
    """At most `size` mutants, evenly spread over the module (the same ones on every run)."""
    if size is None or size >= len(points):
        return points
    return [points[i * len(points) // size] for i in range(size)]


def run(name: str, size: int | None = None, match: list[str] | None = None
        ) -> tuple[int, int, list[str], int]:
    target = TARGETS[name]
    with tempfile.TemporaryDirectory(prefix=f"mutation-{name}-") as tmp:
        work = Path(tmp) / "repo"
        shutil.copytree(ROOT, work, ignore=shutil.ignore_patterns(
            ".venv", ".git", "instance", "__pycache__", "node_modules", ".pytest_cache"))
        module = work / target.path
        original = module.read_text()
        started = _cpu_seconds()
        if _pytest(work, target.tests) != "passed":
            raise SystemExit(f"{name}: the tests fail without any mutant; fix them first")
        cpu_limit = 3 * (_cpu_seconds() - started) + 30
        points = sample(mutation_points(ast.parse(original), target.only), size)
        if match:
            points = [p for p in points if any(m in p[2] for m in match)]
        survivors, timeouts = [], 0
        for number, point in enumerate(points, 1):
            module.write_text(mutate(original, point))
            outcome = _pytest(work, target.tests, cpu_limit)
            if outcome == "passed":
                survivors.append(point[2])
            timeouts += outcome == "timeout"
            print(f"{name} {number}/{len(points)} {outcome:7} {point[2]}", flush=True)
        module.write_text(original)
    killed = len(points) - len(survivors)
    return killed, len(points), survivors, timeouts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help=f"some of {', '.join(TARGETS)} (default: all)")
    parser.add_argument("--sample", type=int, help="at most this many mutants per module, evenly spread")
    parser.add_argument("--match", action="append", metavar="TEXT",
                        help="only the mutants whose description contains TEXT (repeatable), "
                             "e.g. --match 'line 164: 8' to check a survivor again")
    parser.add_argument("--list", action="store_true", help="only list the mutants")
    args = parser.parse_args(argv)
    unknown = set(args.modules) - set(TARGETS)
    if unknown:
        parser.error(f"unknown modules: {', '.join(sorted(unknown))}")
    summary = []
    for name in args.modules or list(TARGETS):
        target = TARGETS[name]
        if args.list:
            points = mutation_points(ast.parse((ROOT / target.path).read_text()), target.only)
            print(f"{name}: {len(points)} mutants")
            for point in points:
                print("  ", point[2])
            continue
        killed, total, survivors, timeouts = run(name, args.sample, args.match)
        # A timeout (the run used three times the CPU time of the unmutated run) counts as killed:
        # a mutant that loops is caught. The count says how much of the score rests on them.
        summary.append(f"{name}: {killed}/{total} killed ({100 * killed / max(total, 1):.0f} %), "
                       f"{timeouts} of them by timeout")
        summary.extend(f"    survived: {s}" for s in survivors)
    print("\n".join(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
