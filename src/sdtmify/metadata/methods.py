"""Method texts for reviewers: the MethodDef descriptions of define.xml as plain prose.

A derivation's method text starts as its docstring (the rule it implements) followed by the study's
parameters as declared in the mapping. Define-XML 2.1 (section 5.3.6, MethodDef) wants a description
a reviewer can read, so before writing, each text is turned into prose:

- code is dropped or spelled out: ``(admiral derive_param_tte)`` references go, a parameter name such
  as ``date_var`` reads "the date variable", ``data_cutoff`` "the data cut-off";
- the parameters' YAML (``{PARAMCD: [RSP, CRSP]}``, ``['LLN', 3.0]``) becomes "PARAMCD = RSP, CRSP",
  "LLN, 3.0"; a half-open interval ``[A, B)`` becomes "from A up to (not including) B";
- "Study parameters:" reads "For this study:".

Variables derived by the very same text share one MethodDef (as define.xml files usually share
MT.STUDYDAY), so two different MethodDefs never carry identical descriptions."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import replace

from .model import StudyMetadata

_ADMIRAL = re.compile(r"\s*\(admiral [A-Za-z_]+\)|,\s*admiral [A-Za-z_]+|\badmiral [a-z]+(?:_[a-z0-9]+)+\b")
_INTERVAL = re.compile(r"\[([^\[\]{}()]+?), ([^\[\]{}()]+?)\)")
_INNER_DICT = re.compile(r"\{([^{}\[\]]*)\}")
_INNER_LIST = re.compile(r"\[([^{}\[\]]*)\]")
# a quoted string inside a literal (['LLN', 3.0]), not the apostrophes of "the study's ... subject's"
_QUOTED = re.compile(r"(?<=[\[{(,:\s])'([^'\s][^']*?)'(?=[\]}),:])")
_SNAKE = re.compile(r"\b[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+\b")
_WORDS = {
    "data_cutoff": "the data cut-off",
    "count_distinct": "count of distinct values",
    "paramcd": "PARAMCD",
    "avalc": "AVALC",
    "aval": "AVAL",
    "sd": "stable disease",
    "ne": "not evaluable",
    "dtc": "date",
    "seq": "sequence number",
}


def _words(token: str) -> str:
    parts = [_WORDS.get(p.lower(), p) for p in token.split("_")]
    if parts[-1] == "var" and len(parts) > 1:
        return "the " + " ".join(parts[:-1]) + " variable"
    if token.lower() in _WORDS:
        return _WORDS[token.lower()]
    return " ".join(parts)


def _pairs(body: str) -> str:
    """The inside of a mapping literal, ``A: x, B: y``, as ``A = x, B = y``."""
    return re.sub(r"([^\s,:]+):\s", r"\1 = ", body.strip())


def reviewer_text(text: str) -> str:
    """A method text as reviewer prose: no code identifiers, no YAML or Python literals."""
    text = " ".join(str(text).replace("``", "").split())
    text = _ADMIRAL.sub("", text)
    text = text.replace("Study parameters:", "For this study:")
    text = _INTERVAL.sub(r"from \1 up to (not including) \2", text)
    text = _QUOTED.sub(r"\1", text)
    # innermost literals first, until none is left
    while True:
        new = _INNER_LIST.sub(lambda m: m.group(1).strip(), _INNER_DICT.sub(lambda m: _pairs(m.group(1)), text))
        if new == text:
            break
        text = new
    text = _SNAKE.sub(lambda m: _words(m.group(0)), text)
    text = re.sub(r"\bdtc\b", "the date", text)  # a parameter name in the SDTM derivations' rules
    text = re.sub(r"\bNone\b", "none", text)
    text = re.sub(r"\bnan\b", "missing", text)
    text = text.replace("sort keys (order)", "sort keys")
    return " ".join(text.replace(" ,", ",").replace("( ", "(").split())


def reviewer_methods(metadata: StudyMetadata) -> StudyMetadata:
    """The metadata with every method text as reviewer prose and identical texts sharing one MethodDef
    (the first one's OID; its name lists the variables that use it)."""
    texts = {m.oid: reviewer_text(m.description) for m in metadata.methods}
    users: dict[str, list[str]] = defaultdict(list)
    for ds in metadata.datasets:
        for variable in ds.variables:
            if variable.method:
                users[variable.method].append(f"{ds.name}.{variable.name}")
            for vlm in variable.value_levels:
                if vlm.method:
                    users[vlm.method].append(f"{ds.name}.{vlm.name}")
    keeper: dict[str, str] = {}
    alias: dict[str, str] = {}
    for method in metadata.methods:
        key = f"{method.type}\x00{texts[method.oid]}"
        alias[method.oid] = keeper.setdefault(key, method.oid)
    shared: dict[str, list[str]] = defaultdict(list)
    for oid, target in alias.items():
        shared[target].extend(users.get(oid, []))
    methods = []
    for method in metadata.methods:
        if alias[method.oid] != method.oid or not shared[method.oid]:
            continue  # merged into an identical one, or used by no variable any more
        name = method.name
        variables = list(dict.fromkeys(shared[method.oid]))
        if len(variables) > 1:
            listed = ", ".join(variables[:4]) + (f" and {len(variables) - 4} more" if len(variables) > 4 else "")
            name = f"Algorithm for {listed}"
        methods.append(replace(method, description=texts[method.oid], name=name))
    datasets = tuple(
        replace(
            ds,
            variables=tuple(
                replace(
                    v,
                    method=alias.get(v.method, v.method) if v.method else v.method,
                    value_levels=tuple(
                        replace(vl, method=alias.get(vl.method, vl.method) if vl.method else vl.method)
                        for vl in v.value_levels
                    ),
                )
                for v in ds.variables
            ),
        )
        for ds in metadata.datasets
    )
    return replace(metadata, methods=tuple(methods), datasets=datasets)
