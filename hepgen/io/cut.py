"""Per-object cut expressions such as ``"pt > 25 and abs(eta) < 2.5"``.

A cut is a small, safe expression language evaluated element-wise on flat
numpy arrays: feature names, numbers, comparisons (chains allowed),
``and``/``or``/``not`` (or ``&``/``|``/``~``), ``+ - * /``, and the
functions ``abs(x)`` and ``isin(x, (a, b, ...))``. Nothing else is accepted,
so a schema file can never run arbitrary code.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from hepgen.errors import SchemaError

__all__ = ["Cut"]

_COMPARE = {
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.BitAnd: np.logical_and,
    ast.BitOr: np.logical_or,
}
_FUNCTIONS: dict[str, Callable[..., np.ndarray]] = {"abs": np.abs}

Resolver = Callable[[str], np.ndarray]


@dataclass(frozen=True)
class Cut:
    """A parsed cut expression.

    Attributes:
        expression: the source text, e.g. ``"pt > 25 and abs(eta) < 2.5"``.
        names: the feature names the expression reads.
    """

    expression: str
    names: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        try:
            tree = ast.parse(self.expression, mode="eval")
        except SyntaxError as err:
            raise SchemaError(f"cut {self.expression!r} is not a valid expression: {err.msg}") from None
        names: set[str] = set()
        self._check(tree.body, names)
        object.__setattr__(self, "names", frozenset(names))
        object.__setattr__(self, "_tree", tree.body)

    def _check(self, node: ast.AST, names: set[str]) -> None:
        allowed = (
            ast.Compare,
            ast.BoolOp,
            ast.BinOp,
            ast.UnaryOp,
            ast.Name,
            ast.Constant,
            ast.Call,
            ast.Tuple,
            ast.And,
            ast.Or,
            ast.Not,
            ast.USub,
            ast.Invert,
            ast.Load,
            *_COMPARE,
            *_BINARY,
        )
        if not isinstance(node, allowed):
            raise SchemaError(
                f"cut {self.expression!r}: {type(node).__name__} is not allowed; use feature names, numbers, "
                "comparisons, and/or/not, + - * /, abs(x) and isin(x, (values...))"
            )
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in (*_FUNCTIONS, "isin"):
                raise SchemaError(f"cut {self.expression!r}: only abs(...) and isin(...) may be called")
            if node.keywords:
                raise SchemaError(f"cut {self.expression!r}: keyword arguments are not allowed")
            for arg in node.args:
                self._check(arg, names)
            return
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitAnd, ast.BitOr)):
            for operand in (node.left, node.right):
                if not self._is_boolean(operand):
                    raise SchemaError(
                        f"cut {self.expression!r}: '&' and '|' bind tighter than comparisons, so "
                        f"{ast.unparse(node)!r} does not mean what it seems; write 'and'/'or' or put each "
                        "comparison in parentheses"
                    )
        if isinstance(node, ast.Name):
            names.add(node.id)
        if isinstance(node, ast.Constant) and not isinstance(node.value, (int, float, bool)):
            raise SchemaError(f"cut {self.expression!r}: only numeric constants are allowed, got {node.value!r}")
        for child in ast.iter_child_nodes(node):
            self._check(child, names)

    @staticmethod
    def _is_boolean(node: ast.AST) -> bool:
        if isinstance(node, (ast.Compare, ast.BoolOp)):
            return True
        if isinstance(node, ast.UnaryOp):
            return isinstance(node.op, (ast.Not, ast.Invert))
        if isinstance(node, ast.BinOp):
            return isinstance(node.op, (ast.BitAnd, ast.BitOr))
        return isinstance(node, ast.Call) and getattr(node.func, "id", None) == "isin"

    def evaluate(self, resolve: Resolver) -> np.ndarray:
        """Evaluate on flat arrays; ``resolve(name)`` returns the array of a feature. Returns bool ``[n]``."""
        result = self._eval(self._tree, resolve)  # type: ignore[attr-defined]
        return np.asarray(result, dtype=bool)

    def _eval(self, node: ast.AST, resolve: Resolver):
        if isinstance(node, ast.Name):
            return resolve(node.id)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Tuple):
            return tuple(self._eval(e, resolve) for e in node.elts)
        if isinstance(node, ast.UnaryOp):
            operand = self._eval(node.operand, resolve)
            if isinstance(node.op, (ast.Not, ast.Invert)):
                return np.logical_not(operand)
            return -operand
        if isinstance(node, ast.BinOp):
            return _BINARY[type(node.op)](self._eval(node.left, resolve), self._eval(node.right, resolve))
        if isinstance(node, ast.BoolOp):
            combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            values = [self._eval(v, resolve) for v in node.values]
            out = values[0]
            for v in values[1:]:
                out = combine(out, v)
            return out
        if isinstance(node, ast.Compare):
            left = self._eval(node.left, resolve)
            out = None
            for op, right_node in zip(node.ops, node.comparators):
                right = self._eval(right_node, resolve)
                part = _COMPARE[type(op)](left, right)
                out = part if out is None else np.logical_and(out, part)
                left = right
            return out
        if isinstance(node, ast.Call):
            name = node.func.id  # type: ignore[attr-defined]
            args = [self._eval(a, resolve) for a in node.args]
            if name == "isin":
                if len(args) != 2 or not isinstance(args[1], tuple):
                    raise SchemaError(f"cut {self.expression!r}: use isin(x, (a, b, ...))")
                return np.isin(args[0], np.asarray(args[1]))
            if len(args) != 1:
                raise SchemaError(f"cut {self.expression!r}: {name}() takes one argument")
            return _FUNCTIONS[name](args[0])
        raise SchemaError(f"cut {self.expression!r}: cannot evaluate {type(node).__name__}")  # pragma: no cover

    def __str__(self) -> str:
        return self.expression
