"""Validate a document against a DTD, for the tests: lxml (libxml2) when it is
installed, and always a small validator of our own that reads the same DTD file.

The small validator covers what an ADF DTD uses: element content models (sequences,
choices, `? * +`, `#PCDATA`), attribute lists (CDATA or an enumeration; `#REQUIRED`,
`#IMPLIED` or a default) and undeclared elements or attributes. A content model
becomes a regular expression over the children's names, matched whole.

    problems = validate(text, DTD_PATH)   # [] when valid
"""

from __future__ import annotations

import importlib
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_ELEMENT = re.compile(r"<!ELEMENT\s+(\S+)\s+(.*?)>", re.DOTALL)
_ATTLIST = re.compile(r"<!ATTLIST\s+(\S+)\s+(.*?)>", re.DOTALL)
_ATTR = re.compile(r'([\w-]+)\s+(CDATA|\([^)]*\))\s+(#REQUIRED|#IMPLIED|"[^"]*")')
_TOKEN = re.compile(r"[A-Za-z_][\w.-]*|[(),|?*+]")


@dataclass
class Declared:
    text_only: bool
    model: re.Pattern[str] | None
    # name -> (allowed values or None for CDATA, required)
    attributes: dict[str, tuple[frozenset[str] | None, bool]] = field(default_factory=dict)


def _model(spec: str) -> re.Pattern[str]:
    """`(a, (b | c+), d?)` -> a regex over the children's names, each followed by ","."""
    parts = []
    for token in _TOKEN.findall(spec):
        if token == "(":
            parts.append("(?:")
        elif token == ",":
            continue
        elif token in ")|?*+":
            parts.append(token)
        else:
            parts.append(f"(?:{re.escape(token)},)")
    return re.compile("".join(parts))


def parse_dtd(text: str) -> dict[str, Declared]:
    text = _COMMENT.sub("", text)
    found: dict[str, Declared] = {}
    for name, spec in _ELEMENT.findall(text):
        spec = " ".join(spec.split())
        text_only = spec.replace(" ", "") == "(#PCDATA)"
        found[name] = Declared(text_only, None if text_only else _model(spec))
    for name, body in _ATTLIST.findall(text):
        for attr, kind, default in _ATTR.findall(body):
            choices = frozenset(v.strip() for v in kind[1:-1].split("|"))
            values = None if kind == "CDATA" else choices
            found[name].attributes[attr] = (values, default == "#REQUIRED")
    return found


def _check(element: ET.Element, dtd: dict[str, Declared], where: str) -> list[str]:
    here = f"{where}/{element.tag}"
    declared = dtd.get(element.tag)
    if declared is None:
        return [f"{here}: element not declared"]
    problems = []
    for attr, value in element.attrib.items():
        if attr not in declared.attributes:
            problems.append(f"{here}: attribute {attr} not declared")
            continue
        allowed, _ = declared.attributes[attr]
        if allowed is not None and value not in allowed:
            problems.append(f"{here}: {attr}={value!r} not one of {sorted(allowed)}")
    for attr, (_, required) in declared.attributes.items():
        if required and attr not in element.attrib:
            problems.append(f"{here}: required attribute {attr} missing")
    children = list(element)
    if declared.text_only:
        if children:
            problems.append(f"{here}: text only, has child elements")
        return problems
    if (element.text or "").strip() or any((c.tail or "").strip() for c in children):
        problems.append(f"{here}: text where only elements are allowed")
    names = "".join(f"{c.tag}," for c in children)
    assert declared.model is not None
    if not declared.model.fullmatch(names):
        problems.append(f"{here}: children {names!r} do not follow the content model")
    for child in children:
        problems.extend(_check(child, dtd, here))
    return problems


def own_validate(document: str, dtd_path: Path, root: str = "adf") -> list[str]:
    dtd = parse_dtd(dtd_path.read_text(encoding="utf-8"))
    tree = ET.fromstring(document.encode("utf-8"))
    if tree.tag != root:
        return [f"the root is {tree.tag}, expected {root}"]
    return _check(tree, dtd, "")


def lxml_validate(document: str, dtd_path: Path) -> list[str] | None:
    """libxml2's verdict, or None when lxml is not installed."""
    try:
        etree: Any = importlib.import_module("lxml.etree")
    except ImportError:
        return None
    with dtd_path.open("rb") as handle:
        dtd = etree.DTD(handle)
    valid = dtd.validate(etree.fromstring(document.encode("utf-8")))
    return [] if valid else [str(e) for e in dtd.error_log.filter_from_errors()]


def validate(document: str, dtd_path: Path) -> list[str]:
    """Every problem either validator finds ([] when the document is valid)."""
    return [*own_validate(document, dtd_path), *(lxml_validate(document, dtd_path) or [])]
