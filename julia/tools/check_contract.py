#!/usr/bin/env python3
"""Contract test of NATSBridge.jl against the C header, without a Julia runtime.

Reads every `ccall` and `@cfunction` in the Julia sources (tree-sitter-julia) and the C header
(tree-sitter-c) and checks, one test per item:

  ccall        the symbol exists in the header; the number of argument types equals the C
               function's parameter count and the number of values passed; the return type
               and each argument type match the C types (mapping below); the library is
               named as `_sym(:nb_x)` or `(:nb_x, lib)`.
  @cfunction   sits in a constructor of a header struct (`nb_upload_handler_t(ctx, @cfunction(...),
               C_NULL)`); its return and argument types match that struct field's function
               pointer type.
  struct       each Julia struct named like a header struct has the same fields, in order,
               with matching types (function pointers and `void *` are `Ptr{Cvoid}`).
  constants    each Julia `const NB_* = n` equals the header's `#define NB_* n`; the error
               table `ERROR_KINDS` has exactly the header's NB_ERR_* codes, same names.
  symbols      `_NB_SYMBOLS` lists exactly the symbols the ccalls use.
  names        every internal function called (`_x(...)`, `nb_x(...)`) and every exported name is
               defined in the sources; (with --tests) so is every `NATSBridge.name` the tests use.
  library      (with --lib) every ccall'ed symbol is exported by the built library.

Type mapping (C -> accepted Julia):
  int32_t and its typedefs (nb_result_t, ...)  Cint, Int32
  int64_t / uint64_t / uint32_t                Int64, Clonglong / UInt64, Culonglong / UInt32, Cuint
  size_t                                       Csize_t
  bool                                         Bool
  void (return)                                Cvoid, Nothing
  char * (one level, NUL-terminated)           Cstring, Ptr{UInt8}, Ptr{Cchar}, Ptr{Cuchar}
  uint8_t *                                    Ptr{UInt8}, Ptr{Cuchar}
  struct opaque *                              Ptr{Cvoid}
  T ** / T * (outputs)                         Ref{...} or Ptr{...} of the mapping of T * / T
  struct S (by value)                          the Julia struct S, checked field by field
Platform-dependent Julia types (Int, UInt, Clong, Culong, Csize_t for a non-size_t, ...) fail.

Prints one line per check and ends with `check_contract: N passed, M failed`; exits 1 on any
failure. Usage: check_contract.py --header include/natsbridge.h --src julia/src [--tests julia/test] [--lib PATH]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

import tree_sitter_c
import tree_sitter_julia
from tree_sitter import Language, Node, Parser

# ---------------------------------------------------------------------------------------------
# The C side


@dataclass(frozen=True)
class CType:
    base: str  # int32_t, int64_t, uint64_t, uint32_t, size_t, bool, char, uint8_t, void, struct:NAME
    depth: int  # pointer levels

    def __str__(self) -> str:
        b = self.base.replace("struct:", "struct ")
        return b + " " + "*" * self.depth if self.depth else b


@dataclass
class CFnPtr:
    ret: CType
    params: List[Tuple[str, CType]]

    def __str__(self) -> str:
        return f"{self.ret} (*)({', '.join(str(t) for _, t in self.params)})"


@dataclass
class CFunc:
    name: str
    ret: CType
    params: List[Tuple[str, CType]]


@dataclass
class CStruct:
    name: str
    fields: List[Tuple[str, Union[CType, CFnPtr]]]


@dataclass
class Header:
    functions: Dict[str, CFunc] = field(default_factory=dict)
    structs: Dict[str, CStruct] = field(default_factory=dict)  # structs with a body
    opaque: set = field(default_factory=set)
    aliases: Dict[str, CType] = field(default_factory=dict)  # typedef name -> type
    defines: Dict[str, int] = field(default_factory=dict)


C_PRIMITIVES = {"int32_t", "int64_t", "uint64_t", "uint32_t", "size_t", "bool", "char", "uint8_t", "void", "int"}


def _text(src: bytes, n: Node) -> str:
    return src[n.start_byte : n.end_byte].decode("utf-8")


def _base_of(src: bytes, type_node: Node, header: Header) -> CType:
    """The CType (depth 0 or an alias's depth) of a declaration's `type` node."""
    if type_node.type in ("primitive_type", "sized_type_specifier"):
        name = _text(src, type_node)
        if name not in C_PRIMITIVES:
            raise ValueError(f"unsupported C type {name!r}")
        return CType(name, 0)
    if type_node.type == "struct_specifier":
        name_node = type_node.child_by_field_name("name")
        return CType("struct:" + _text(src, name_node), 0)
    if type_node.type == "type_identifier":
        name = _text(src, type_node)
        if name in header.aliases:
            return header.aliases[name]
        if name in header.opaque or name in header.structs:
            return CType("struct:" + name, 0)
        raise ValueError(f"unknown C type name {name!r}")
    raise ValueError(f"unsupported C type node {type_node.type}")


def _declarator_chain(decl: Optional[Node]) -> Tuple[int, Optional[Node], Optional[str]]:
    """Walks pointer declarators: (pointer depth, the function_declarator if any, the name)."""
    depth = 0
    n = decl
    while n is not None:
        if n.type in ("pointer_declarator", "abstract_pointer_declarator"):
            depth += 1
            n = n.child_by_field_name("declarator")
        elif n.type in ("function_declarator", "abstract_function_declarator"):
            return depth, n, None
        elif n.type == "parenthesized_declarator":
            n = next((c for c in n.named_children), None)
        elif n.type in ("identifier", "field_identifier", "type_identifier"):
            return depth, None, n.text.decode() if n.text else None
        else:
            raise ValueError(f"unsupported declarator {n.type}")
    return depth, None, None


def _params(src: bytes, plist: Node, header: Header) -> List[Tuple[str, CType]]:
    out: List[Tuple[str, CType]] = []
    for p in plist.named_children:
        if p.type != "parameter_declaration":
            if p.type == "variadic_parameter":
                raise ValueError("variadic C functions are not supported")
            continue
        base = _base_of(src, p.child_by_field_name("type"), header)
        depth, fn, name = _declarator_chain(p.child_by_field_name("declarator"))
        if fn is not None:
            raise ValueError("function pointer parameters are not supported")
        t = CType(base.base, base.depth + depth)
        if t == CType("void", 0) and name is None:
            continue  # (void)
        out.append((name or f"arg{len(out) + 1}", t))
    return out


def _fnptr_or_type(src: bytes, type_node: Node, declarator: Node, header: Header) -> Tuple[str, Union[CType, CFnPtr]]:
    base = _base_of(src, type_node, header)
    depth, fn, name = _declarator_chain(declarator)
    if fn is None:
        return name or "", CType(base.base, base.depth + depth)
    # A function pointer: `ret (*name)(params)`; the pointer is inside the parenthesized declarator.
    inner_depth, _, inner_name = _declarator_chain(fn.child_by_field_name("declarator"))
    ret = CType(base.base, base.depth + depth)
    if inner_depth != 1:
        raise ValueError("only plain function pointers are supported")
    return inner_name or "", CFnPtr(ret, _params(src, fn.child_by_field_name("parameters"), header))


def parse_header(path: Path) -> Header:
    text = path.read_text(encoding="utf-8")
    # `extern "C" {` and its `}` are C++ (cbindgen's cpp_compat): drop those blocks.
    text = re.sub(r"(?ms)^#ifdef __cplusplus\n.*?^#endif[^\n]*\n", "\n", text)
    src = text.encode("utf-8")
    tree = Parser(Language(tree_sitter_c.language())).parse(src)
    if tree.root_node.has_error:
        raise ValueError(f"{path} does not parse as C")
    header = Header()

    def visit(n: Node) -> None:
        if n.type == "preproc_def":
            name = _text(src, n.child_by_field_name("name"))
            value = n.child_by_field_name("value")
            if value is not None:
                v = _text(src, value).strip()
                if re.fullmatch(r"-?\d+", v):
                    header.defines[name] = int(v)
            return
        if n.type == "type_definition":
            type_node = n.child_by_field_name("type")
            declarator = n.child_by_field_name("declarator")
            alias = _text(src, declarator) if declarator is not None and declarator.type == "type_identifier" else None
            if type_node.type == "struct_specifier":
                sname = _text(src, type_node.child_by_field_name("name"))
                body = type_node.child_by_field_name("body")
                if body is not None:
                    register_struct(sname, body)
                elif alias is not None and alias == sname:
                    header.opaque.add(sname)
                elif alias is not None:
                    header.aliases[alias] = CType("struct:" + sname, 0)
            elif alias is not None:
                header.aliases[alias] = _base_of(src, type_node, header)
            return
        if n.type == "struct_specifier" and n.child_by_field_name("body") is not None:
            register_struct(_text(src, n.child_by_field_name("name")), n.child_by_field_name("body"))
            return
        if n.type == "declaration":
            type_node = n.child_by_field_name("type")
            depth, fn, _ = _declarator_chain(n.child_by_field_name("declarator"))
            if fn is not None:
                name = _text(src, fn.child_by_field_name("declarator"))
                base = _base_of(src, type_node, header)
                header.functions[name] = CFunc(
                    name,
                    CType(base.base, base.depth + depth),
                    _params(src, fn.child_by_field_name("parameters"), header),
                )
            return
        for c in n.children:
            visit(c)

    def register_struct(name: str, body: Node) -> None:
        fields: List[Tuple[str, Union[CType, CFnPtr]]] = []
        for f in body.named_children:
            if f.type != "field_declaration":
                continue
            fields.append(_fnptr_or_type(src, f.child_by_field_name("type"), f.child_by_field_name("declarator"), header))
        header.structs[name] = CStruct(name, fields)

    visit(tree.root_node)
    return header


# ---------------------------------------------------------------------------------------------
# The Julia side


@dataclass(frozen=True)
class JType:
    base: str  # int32, int64, uint64, uint32, size_t, bool, char, uint8, void, cstring, struct:NAME, ?NAME
    depth: int  # pointer levels (Ptr / Ref), Cstring counts as one
    ref_outer: bool = False  # the outermost level is a Ref

    def __str__(self) -> str:
        return self.base + "*" * self.depth


J_SCALARS = {
    "Cint": "int32",
    "Int32": "int32",
    "Cuint": "uint32",
    "UInt32": "uint32",
    "Int64": "int64",
    "Clonglong": "int64",
    "UInt64": "uint64",
    "Culonglong": "uint64",
    "Csize_t": "size_t",
    "Bool": "bool",
    "UInt8": "uint8",
    "Cuchar": "uint8",
    "Cchar": "char",
    "Int8": "char",
    "Cvoid": "void",
    "Nothing": "void",
}


def julia_type(src: bytes, n: Node) -> JType:
    """The JType of a Julia type expression (raises ValueError for what it cannot map)."""
    if n.type == "identifier":
        name = _text(src, n)
        if name == "Cstring":
            return JType("char", 1)
        if name in J_SCALARS:
            return JType(J_SCALARS[name], 0)
        return JType("?" + name, 0)  # a struct (or an unknown type): resolved by the caller
    if n.type == "parametrized_type_expression":
        head = _text(src, n.named_children[0])
        curly = n.named_children[1]
        args = [c for c in curly.named_children]
        if head not in ("Ptr", "Ref") or len(args) != 1:
            raise ValueError(f"unsupported Julia type {_text(src, n)!r}")
        inner = julia_type(src, args[0])
        if inner.ref_outer:
            raise ValueError(f"Ref inside a pointer type: {_text(src, n)!r}")
        return JType(inner.base, inner.depth + 1, head == "Ref")
    raise ValueError(f"unsupported Julia type expression {_text(src, n)!r}")


C_TO_J = {
    "int32_t": {"int32"},
    "int": {"int32"},
    "int64_t": {"int64"},
    "uint64_t": {"uint64"},
    "uint32_t": {"uint32"},
    "size_t": {"size_t"},
    "bool": {"bool"},
    "uint8_t": {"uint8"},
    "char": {"char", "uint8"},
    "void": {"void"},
}


def compatible(c: CType, j: JType, header: Header, jstructs: Dict[str, "JStruct"]) -> Optional[str]:
    """None when the Julia type passes for the C type, else why not."""
    if j.base.startswith("?"):
        name = j.base[1:]
        if name in header.structs and name in jstructs:
            j = JType("struct:" + name, j.depth, j.ref_outer)
        else:
            return f"Julia type {j.base[1:]!r} is neither a known C type nor a header struct defined in Julia"
    if c.depth != j.depth:
        return f"pointer depth differs: C {c} has {c.depth}, Julia has {j.depth}"
    if c.base.startswith("struct:"):
        name = c.base[len("struct:") :]
        if c.depth == 0:
            if j.base != c.base:
                return f"C passes struct {name} by value; Julia must pass its struct {name}"
            return None
        if name in header.structs and j.base == c.base:
            return None
        if j.base == "void":
            return None  # Ptr{Cvoid} for a pointer to an opaque (or any) struct
        return f"C {c} needs Ptr{{Cvoid}} at the innermost level, Julia has {j.base}"
    allowed = C_TO_J.get(c.base)
    if allowed is None:
        return f"no mapping for C type {c}"
    if j.base not in allowed:
        return f"C {c} is not Julia {j.base} (accepted: {', '.join(sorted(allowed))})"
    if c.base == "void" and c.depth == 0 and j.ref_outer:
        return "void return"
    return None


@dataclass
class CCall:
    file: str
    line: int
    symbol: Optional[str]
    symbol_error: Optional[str]
    ret: Optional[Node]
    argtypes: Optional[List[Node]]
    argtypes_error: Optional[str]
    nvalues: int


@dataclass
class CFunction:
    file: str
    line: int
    fn_name: str
    ret: Node
    argtypes: Optional[List[Node]]
    struct: Optional[str]
    field_index: Optional[int]
    where_error: Optional[str]


@dataclass
class JStruct:
    file: str
    line: int
    name: str
    fields: List[Tuple[str, Optional[Node]]]


@dataclass
class JuliaSources:
    ccalls: List[CCall] = field(default_factory=list)
    cfunctions: List[CFunction] = field(default_factory=list)
    structs: Dict[str, JStruct] = field(default_factory=dict)
    consts: Dict[str, Tuple[str, int, Optional[int]]] = field(default_factory=dict)  # name -> (file, line, int value)
    const_nodes: Dict[str, Tuple[str, Node, bytes]] = field(default_factory=dict)
    defined: set = field(default_factory=set)
    calls: List[Tuple[str, int, str]] = field(default_factory=list)  # internal calls: (file, line, name)
    exports: List[Tuple[str, int, str]] = field(default_factory=list)
    srcs: Dict[str, bytes] = field(default_factory=dict)


def _args(arglist: Node) -> List[Node]:
    """Positional arguments of an argument_list (keyword/named arguments dropped)."""
    return [c for c in arglist.named_children if c.type not in ("named_argument", "comment", "line_comment", "block_comment")]


def _callee_name(src: bytes, call: Node) -> Optional[str]:
    callee = call.named_children[0] if call.named_children else None
    if callee is not None and callee.type == "identifier":
        return _text(src, callee)
    return None


def _tuple_items(n: Node) -> Optional[List[Node]]:
    if n.type == "tuple_expression":
        return [c for c in n.named_children if c.type not in ("comment", "line_comment", "block_comment")]
    return None


def parse_julia(src_dir: Path) -> JuliaSources:
    parser = Parser(Language(tree_sitter_julia.language()))
    out = JuliaSources()
    for path in sorted(src_dir.rglob("*.jl")):
        src = path.read_bytes()
        rel = str(path)
        out.srcs[rel] = src
        tree = parser.parse(src)
        visit_julia(tree.root_node, src, rel, out)
    return out


def _defined_name_of_signature(src: bytes, n: Node) -> Optional[str]:
    """The function name of a definition's left side: f(x), f(x)::T, f(x) where T, Base.f(x)."""
    while n is not None and n.type in ("typed_expression", "where_expression", "signature"):
        n = n.named_children[0] if n.named_children else None
    if n is None or n.type != "call_expression":
        return None
    callee = n.named_children[0]
    if callee.type == "identifier":
        return _text(src, callee)
    if callee.type == "field_expression":
        return _text(src, callee.named_children[-1])
    return None


def visit_julia(n: Node, src: bytes, rel: str, out: JuliaSources) -> None:
    line = n.start_point[0] + 1
    if n.type == "function_definition":
        sig = n.child_by_field_name("signature") or next((c for c in n.named_children if c.type == "signature"), None)
        if sig is not None:
            name = _defined_name_of_signature(src, sig)
            if name:
                out.defined.add(name)
    elif n.type == "assignment":
        lhs = n.named_children[0]
        name = _defined_name_of_signature(src, lhs)
        if name:
            out.defined.add(name)
        elif lhs.type == "identifier":
            out.defined.add(_text(src, lhs))
    elif n.type == "const_statement":
        asg = next((c for c in n.named_children if c.type == "assignment"), None)
        if asg is not None and asg.named_children[0].type == "identifier":
            name = _text(src, asg.named_children[0])
            value = asg.named_children[-1]
            ival = int(_text(src, value).replace("_", ""), 0) if value.type == "integer_literal" else None
            out.consts[name] = (rel, line, ival)
            out.const_nodes[name] = (rel, value, src)
            out.defined.add(name)
    elif n.type in ("struct_definition", "abstract_definition", "primitive_definition"):
        head = next((c for c in n.named_children if c.type == "type_head"), None)
        if head is not None:
            name_node = head.named_children[0]
            while name_node.type in ("binary_expression", "parametrized_type_expression", "subtype_expression"):
                name_node = name_node.named_children[0]
            name = _text(src, name_node)
            out.defined.add(name)
            if n.type == "struct_definition" and not name.startswith("$"):
                fields: List[Tuple[str, Optional[Node]]] = []
                for c in n.named_children:
                    if c.type == "typed_expression":
                        fields.append((_text(src, c.named_children[0]), c.named_children[-1]))
                    elif c.type == "identifier":
                        fields.append((_text(src, c), None))
                out.structs[name] = JStruct(rel, line, name, fields)
    elif n.type == "export_statement":
        for c in n.named_children:
            if c.type == "identifier":
                out.exports.append((rel, line, _text(src, c)))
    elif n.type == "macro_definition":
        sig = next((c for c in n.named_children if c.type == "signature"), None)
        if sig is not None:
            name = _defined_name_of_signature(src, sig)
            if name:
                out.defined.add("@" + name)
    elif n.type == "call_expression":
        name = _callee_name(src, n)
        arglist = next((c for c in n.named_children if c.type == "argument_list"), None)
        if name == "ccall" and arglist is not None:
            out.ccalls.append(read_ccall(src, rel, line, arglist))
        elif name and (name.startswith("_") or name.startswith("nb_")):
            out.calls.append((rel, line, name))
    elif n.type == "macrocall_expression":
        mname = _text(src, n.named_children[0])
        if mname == "@cfunction":
            out.cfunctions.append(read_cfunction(src, rel, line, n))
        elif mname == "@ccall":
            out.ccalls.append(CCall(rel, line, None, "@ccall is not checked by this test: use ccall", None, None, None, 0))
    for c in n.children:
        visit_julia(c, src, rel, out)


def read_ccall(src: bytes, rel: str, line: int, arglist: Node) -> CCall:
    args = _args(arglist)
    if len(args) < 3:
        return CCall(rel, line, None, "a ccall needs a function, a return type and argument types", None, None, None, 0)
    fn = args[0]
    symbol, symbol_error = None, None
    if fn.type == "call_expression" and _callee_name(src, fn) == "_sym":
        inner = _args(next(c for c in fn.named_children if c.type == "argument_list"))
        if len(inner) == 1 and inner[0].type == "quote_expression":
            symbol = _text(src, inner[0]).lstrip(":")
    elif fn.type == "tuple_expression":
        items = _tuple_items(fn) or []
        if len(items) == 2 and items[0].type == "quote_expression":
            symbol = _text(src, items[0]).lstrip(":")
    if symbol is None:
        symbol_error = f"cannot tell which C function {_text(src, fn)!r} is: write _sym(:nb_x) or (:nb_x, lib)"
    types = _tuple_items(args[2])
    types_error = None if types is not None else f"argument types must be a tuple, got {_text(src, args[2])!r}"
    return CCall(rel, line, symbol, symbol_error, args[1], types, types_error, len(args) - 3)


def read_cfunction(src: bytes, rel: str, line: int, macro: Node) -> CFunction:
    arglist = next((c for c in macro.named_children if c.type == "argument_list"), None)
    args = _args(arglist) if arglist is not None else [c for c in macro.named_children[1:]]
    fn_name = _text(src, args[0]) if args else "?"
    ret = args[1] if len(args) > 1 else None
    types = _tuple_items(args[2]) if len(args) > 2 else None
    # Where it is used: a positional argument of a constructor call of a header struct.
    struct, index, where_error = None, None, None
    parent = macro.parent
    if parent is not None and parent.type == "argument_list" and parent.parent is not None and parent.parent.type == "call_expression":
        struct = _callee_name(src, parent.parent)
        positional = _args(parent)
        index = next((i for i, a in enumerate(positional) if a.id == macro.id), None)
    if struct is None or index is None:
        where_error = "an @cfunction must be written as an argument of a header struct's constructor"
    return CFunction(rel, line, fn_name, ret, types, struct, index, where_error)


# ---------------------------------------------------------------------------------------------
# The checks


class Report:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def ok(self, what: str) -> None:
        self.passed += 1
        print(f"ok    {what}")

    def fail(self, what: str, why: str) -> None:
        self.failed += 1
        print(f"FAIL  {what}: {why}")

    def check(self, what: str, problems: List[str]) -> None:
        if problems:
            self.fail(what, "; ".join(problems))
        else:
            self.ok(what)


def _loc(file: str, line: int, root: Path) -> str:
    try:
        return f"{Path(file).resolve().relative_to(root)}:{line}"
    except ValueError:
        return f"{file}:{line}"


def check_ccalls(h: Header, j: JuliaSources, r: Report, root: Path) -> None:
    for c in j.ccalls:
        what = f"ccall {c.symbol or '?'} ({_loc(c.file, c.line, root)})"
        problems: List[str] = []
        if c.symbol_error:
            r.fail(what, c.symbol_error)
            continue
        fn = h.functions.get(c.symbol)
        if fn is None:
            r.fail(what, f"the header has no function {c.symbol}")
            continue
        if c.argtypes_error:
            r.fail(what, c.argtypes_error)
            continue
        src = j.srcs[c.file]
        if len(c.argtypes) != len(fn.params):
            problems.append(f"{len(c.argtypes)} argument types, the C function takes {len(fn.params)}")
        if c.nvalues != len(c.argtypes):
            problems.append(f"{len(c.argtypes)} argument types but {c.nvalues} values passed")
        try:
            jr = julia_type(src, c.ret)
            why = compatible(fn.ret, jr, h, j.structs)
            if jr.ref_outer:
                why = "a return type cannot be a Ref"
            if why:
                problems.append(f"return type {_text(src, c.ret)}: {why}")
        except ValueError as e:
            problems.append(f"return type: {e}")
        for i, (t, (pname, ct)) in enumerate(zip(c.argtypes, fn.params), start=1):
            try:
                jt = julia_type(src, t)
            except ValueError as e:
                problems.append(f"argument {i} ({pname}): {e}")
                continue
            why = compatible(ct, jt, h, j.structs)
            if why:
                problems.append(f"argument {i} ({pname}, C {ct}) as {_text(src, t)}: {why}")
        r.check(what, problems)


def check_cfunctions(h: Header, j: JuliaSources, r: Report, root: Path) -> None:
    for f in j.cfunctions:
        what = f"@cfunction {f.fn_name} ({_loc(f.file, f.line, root)})"
        if f.where_error:
            r.fail(what, f.where_error)
            continue
        st = h.structs.get(f.struct)
        if st is None:
            r.fail(what, f"{f.struct} is not a struct of the header")
            continue
        if f.field_index >= len(st.fields):
            r.fail(what, f"{f.struct} has {len(st.fields)} fields, this is argument {f.field_index + 1}")
            continue
        fname, ftype = st.fields[f.field_index]
        what = f"@cfunction {f.fn_name} as {f.struct}.{fname} ({_loc(f.file, f.line, root)})"
        if not isinstance(ftype, CFnPtr):
            r.fail(what, f"{f.struct}.{fname} is {ftype}, not a function pointer")
            continue
        if f.argtypes is None or f.ret is None:
            r.fail(what, "@cfunction needs a return type and a tuple of argument types")
            continue
        src = j.srcs[f.file]
        problems: List[str] = []
        if len(f.argtypes) != len(ftype.params):
            problems.append(f"{len(f.argtypes)} argument types, {f.struct}.{fname} takes {len(ftype.params)} ({ftype})")
        try:
            why = compatible(ftype.ret, julia_type(src, f.ret), h, j.structs)
            if why:
                problems.append(f"return type {_text(src, f.ret)}: {why}")
        except ValueError as e:
            problems.append(f"return type: {e}")
        for i, (t, (pname, ct)) in enumerate(zip(f.argtypes, ftype.params), start=1):
            try:
                jt = julia_type(src, t)
            except ValueError as e:
                problems.append(f"argument {i} ({pname}): {e}")
                continue
            if jt.ref_outer:
                problems.append(f"argument {i} ({pname}): a callback argument cannot be a Ref")
                continue
            why = compatible(ct, jt, h, j.structs)
            if why:
                problems.append(f"argument {i} ({pname}, C {ct}) as {_text(src, t)}: {why}")
        r.check(what, problems)


def check_structs(h: Header, j: JuliaSources, r: Report, root: Path) -> None:
    for name, js in sorted(j.structs.items()):
        if name not in h.structs:
            continue
        cs = h.structs[name]
        what = f"struct {name} ({_loc(js.file, js.line, root)})"
        src = j.srcs[js.file]
        problems: List[str] = []
        if [f for f, _ in js.fields] != [f for f, _ in cs.fields]:
            problems.append(f"fields {[f for f, _ in js.fields]} differ from the header's {[f for f, _ in cs.fields]}")
        for (jf, jt_node), (cf, ct) in zip(js.fields, cs.fields):
            if jt_node is None:
                problems.append(f"field {jf} has no type")
                continue
            try:
                jt = julia_type(src, jt_node)
            except ValueError as e:
                problems.append(f"field {jf}: {e}")
                continue
            if isinstance(ct, CFnPtr):
                if jt != JType("void", 1):
                    problems.append(f"field {jf} is a C function pointer: it must be Ptr{{Cvoid}}")
            else:
                why = compatible(ct, jt, h, j.structs)
                if why:
                    problems.append(f"field {jf} (C {ct}): {why}")
        r.check(what, problems)
    for name in sorted(h.structs):
        used = any(f.struct == name for f in j.cfunctions) or any(
            c.argtypes and any(_text(j.srcs[c.file], t) == name for t in c.argtypes) for c in j.ccalls
        )
        if used and name not in j.structs:
            r.fail(f"struct {name}", "used by the Julia code but not defined there")


def check_constants(h: Header, j: JuliaSources, r: Report, root: Path) -> None:
    for name, (file, line, value) in sorted(j.consts.items()):
        if not name.startswith("NB_"):
            continue
        what = f"const {name} ({_loc(file, line, root)})"
        if name not in h.defines:
            r.fail(what, "the header defines no such constant")
        elif value != h.defines[name]:
            r.fail(what, f"Julia says {value}, the header {h.defines[name]}")
        else:
            r.ok(what)
    missing = sorted(n for n in h.defines if n.startswith("NB_") and n not in j.consts)
    r.check("every NB_* constant of the header is defined in Julia", [f"missing: {', '.join(missing)}"] if missing else [])
    # The error table.
    if "ERROR_KINDS" not in j.const_nodes:
        r.fail("ERROR_KINDS", "no `const ERROR_KINDS = (...)` in the sources")
        return
    file, node, src = j.const_nodes["ERROR_KINDS"]
    kinds: Dict[int, str] = {}
    problems: List[str] = []
    for item in _tuple_items(node) or []:
        parts = _tuple_items(item) or []
        if len(parts) < 2 or parts[0].type != "integer_literal" or parts[1].type != "quote_expression":
            problems.append(f"entry {_text(src, item)[:40]!r} is not (code, :Name, doc)")
            continue
        kinds[int(_text(src, parts[0]))] = _text(src, parts[1]).lstrip(":")
    header_errors = {v: k for k, v in h.defines.items() if k.startswith("NB_ERR_")}
    for code, cname in sorted(header_errors.items()):
        jname = kinds.get(code)
        if jname is None:
            problems.append(f"{cname} = {code} has no Julia error type")
        elif jname.lower() != cname[len("NB_ERR_") :].replace("_", "").lower():
            problems.append(f"code {code}: Julia {jname} is not {cname}")
    for code in sorted(set(kinds) - set(header_errors)):
        problems.append(f"Julia error code {code} ({kinds[code]}) is not in the header")
    r.check(f"ERROR_KINDS matches the header's NB_ERR_* codes ({len(kinds)} kinds)", problems)


def check_symbols(h: Header, j: JuliaSources, r: Report) -> None:
    used = {c.symbol for c in j.ccalls if c.symbol}
    if "_NB_SYMBOLS" not in j.const_nodes:
        r.fail("_NB_SYMBOLS", "no `const _NB_SYMBOLS = (...)` in the sources")
        return
    _, node, src = j.const_nodes["_NB_SYMBOLS"]
    listed_items = _tuple_items(node) or []
    listed = [_text(src, i).lstrip(":") for i in listed_items if i.type == "quote_expression"]
    problems = []
    dup = sorted({s for s in listed if listed.count(s) > 1})
    if dup:
        problems.append(f"listed twice: {', '.join(dup)}")
    if set(listed) - used:
        problems.append(f"listed but never ccall'ed: {', '.join(sorted(set(listed) - used))}")
    if used - set(listed):
        problems.append(f"ccall'ed but not listed (would not be resolved): {', '.join(sorted(used - set(listed)))}")
    r.check(f"_NB_SYMBOLS lists exactly the {len(used)} ccall'ed symbols", problems)
    unbound = sorted(set(h.functions) - used)
    print(f"info  header functions not bound in Julia ({len(unbound)}): {', '.join(unbound) or '-'}")


def _all_defined(j: JuliaSources) -> set:
    """Names the sources define, including those the ERROR_KINDS loop makes at load time."""
    defined = set(j.defined)
    if "ERROR_KINDS" in j.const_nodes:
        _, node, src = j.const_nodes["ERROR_KINDS"]
        for item in _tuple_items(node) or []:
            parts = _tuple_items(item) or []
            if len(parts) > 1:
                defined.add(_text(src, parts[1]).lstrip(":"))
    return defined


def check_names(j: JuliaSources, r: Report, root: Path) -> None:
    defined = _all_defined(j)
    missing_exports = sorted(f"{name} ({_loc(file, line, root)})" for file, line, name in j.exports if name not in defined)
    r.check(f"every exported name is defined ({len(j.exports)} exports)", missing_exports)
    problems = []
    for file, line, name in j.calls:
        if name not in defined:
            problems.append(f"{name} ({_loc(file, line, root)})")
    for f in j.cfunctions:
        if f.fn_name not in defined:
            problems.append(f"{f.fn_name} ({_loc(f.file, f.line, root)}, in @cfunction)")
    r.check(f"every internal function called is defined ({len(j.calls)} calls)", sorted(set(problems)))


def module_references(tests: Path, module: str) -> List[Tuple[str, int, str]]:
    """Every `Module.name` and `using Module: name` in the test files: (file, line, name)."""
    parser = Parser(Language(tree_sitter_julia.language()))
    refs: List[Tuple[str, int, str]] = []
    for path in sorted(tests.rglob("*.jl")):
        src = path.read_bytes()

        def walk(n: Node) -> None:
            if n.type == "field_expression" and len(n.named_children) == 2:
                obj, name = n.named_children
                if obj.type == "identifier" and _text(src, obj) == module and name.type == "identifier":
                    refs.append((str(path), n.start_point[0] + 1, _text(src, name)))
            if n.type == "selected_import" and n.named_children and _text(src, n.named_children[0]) == module:
                for c in n.named_children[1:]:
                    if c.type == "identifier":
                        refs.append((str(path), n.start_point[0] + 1, _text(src, c)))
            for c in n.children:
                walk(c)

        walk(parser.parse(src).root_node)
    return refs


def check_references(j: JuliaSources, tests: Path, r: Report, root: Path) -> None:
    defined = _all_defined(j)
    problems = sorted({f"{name} ({_loc(file, line, root)})" for file, line, name in module_references(tests, "NATSBridge")
                       if name not in defined})
    n = len(module_references(tests, "NATSBridge"))
    r.check(f"every NATSBridge.name the tests use is defined in the package ({n} uses)", problems)


def check_library(lib: Path, j: JuliaSources, r: Report) -> None:
    try:
        out = subprocess.run(["nm", "-D", "--defined-only", str(lib)], check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        r.fail(f"library {lib}", f"cannot list its symbols: {e}")
        return
    exported = {parts[-1] for parts in (l.split() for l in out.splitlines()) if len(parts) >= 3 and parts[-2] == "T"}
    used = sorted({c.symbol for c in j.ccalls if c.symbol})
    missing = [s for s in used if s not in exported]
    r.check(f"library {lib.name} exports all {len(used)} ccall'ed symbols", [f"missing: {', '.join(missing)}"] if missing else [])


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--header", required=True, type=Path)
    ap.add_argument("--src", required=True, type=Path, help="the Julia sources (julia/src)")
    ap.add_argument("--lib", type=Path, help="also check the symbols a built libnatsbridge exports")
    ap.add_argument("--tests", type=Path, help="also check that every NATSBridge.name used in these tests is defined")
    ap.add_argument("--root", type=Path, default=Path.cwd(), help="paths in messages are relative to this")
    a = ap.parse_args(argv)
    root = a.root.resolve()
    r = Report()
    try:
        header = parse_header(a.header)
    except (OSError, ValueError) as e:
        r.fail(f"header {a.header}", str(e))
        print(f"check_contract: {r.passed} passed, {r.failed} failed")
        return 1
    print(f"info  header: {len(header.functions)} functions, {len(header.structs)} structs, "
          f"{len(header.opaque)} opaque types, {len(header.defines)} constants")
    j = parse_julia(a.src)
    if not j.ccalls:
        r.fail("ccalls", f"no ccall found under {a.src}")
    check_ccalls(header, j, r, root)
    check_cfunctions(header, j, r, root)
    check_structs(header, j, r, root)
    check_constants(header, j, r, root)
    check_symbols(header, j, r)
    check_names(j, r, root)
    if a.tests is not None:
        check_references(j, a.tests, r, root)
    if a.lib is not None:
        check_library(a.lib, j, r)
    print(f"check_contract: {r.passed} passed, {r.failed} failed")
    return 0 if r.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
