"""define.html: a reviewer's view of a define.xml, rendered in Python from the XML itself (no XSLT,
no third-party stylesheet), so it shows exactly what the XML states.

Sections: contents, standards, documents, analysis results (ADaM), datasets with keys and links to
their .xpt files, each dataset's variables with links to value-level metadata, codelists, external
dictionaries, methods and comments. One small script filters table rows; it needs no network."""

from __future__ import annotations

from html import escape

from lxml import etree

NS = {
    "odm": "http://www.cdisc.org/ns/odm/v1.3",
    "def": "http://www.cdisc.org/ns/def/v2.1",
    "xlink": "http://www.w3.org/1999/xlink",
    "arm": "http://www.cdisc.org/ns/arm/v1.0",
}
HREF = f"{{{NS['xlink']}}}href"
DEF = "{" + NS["def"] + "}"

CSS = """
:root { --ink:#1d2733; --muted:#5b6776; --line:#d5dbe3; --head:#eef2f7; --accent:#0b5cad; --ext:#8a4b00; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color:var(--ink); }
nav#toc { position:fixed; top:0; left:0; bottom:0; width:230px; overflow:auto; padding:16px 12px;
  background:#f7f9fb; border-right:1px solid var(--line); font-size:13px; }
nav#toc h2 { font-size:14px; margin:0 0 8px; }
nav#toc ul { list-style:none; padding-left:10px; margin:2px 0 8px; }
nav#toc a { color:var(--accent); text-decoration:none; }
main { margin-left:230px; padding:16px 28px 60px; max-width:1400px; }
h1 { font-size:22px; margin:0 0 4px; }
h2 { font-size:18px; margin:28px 0 8px; padding-bottom:4px; border-bottom:2px solid var(--line); }
h3 { font-size:15px; margin:20px 0 6px; }
table { border-collapse:collapse; width:100%; margin:6px 0 14px; }
table.arm td:first-child { width:230px; color:var(--muted); }
th, td { border:1px solid var(--line); padding:3px 6px; text-align:left; vertical-align:top; }
th { background:var(--head); font-weight:600; }
tr.hidden { display:none; }
.meta { color:var(--muted); margin:0 0 12px; }
.key { font-weight:600; }
.ext { color:var(--ext); }
.vlm { font-size:12px; }
code, .mono { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size:12.5px; }
pre { background:#f4f6f8; padding:6px 8px; overflow:auto; margin:4px 0; }
#filter { width:100%; margin:4px 0 10px; padding:4px 6px; border:1px solid var(--line); border-radius:3px; }
a.top { font-size:12px; margin-left:8px; }
"""

SCRIPT = """
(function () {
  var box = document.getElementById('filter');
  if (!box) { return; }
  box.addEventListener('input', function () {
    var needle = box.value.toLowerCase();
    var rows = document.querySelectorAll('table.filterable tbody tr');
    for (var i = 0; i < rows.length; i++) {
      var hit = !needle || rows[i].textContent.toLowerCase().indexOf(needle) >= 0;
      rows[i].classList.toggle('hidden', !hit);
    }
  });
})();
"""


def _e(text) -> str:
    return escape("" if text is None else str(text))


def _desc(el) -> str:
    if el is None:
        return ""
    found = el.find("odm:Description/odm:TranslatedText", NS)
    return found.text or "" if found is not None else ""


def _link(oid: str | None, text: str | None = None) -> str:
    if not oid:
        return ""
    return f'<a href="#{_e(oid)}">{_e(text or oid)}</a>'


def _table(headers, rows, cls="filterable", empty: str = "") -> str:
    """A table; ``headers=None`` for a two-column label/value table without a header row."""
    if not rows and empty:
        return f'<p class="meta">{_e(empty)}</p>'
    head = "" if headers is None else "<thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in headers) + "</tr></thead>"
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f'<table class="{cls}">{head}<tbody>{body}</tbody></table>'


class _Define:
    """Lookups over one parsed define.xml."""

    def __init__(self, root):
        self.root = root
        self.mdv = root.find("odm:Study/odm:MetaDataVersion", NS)
        self.items = {el.get("OID"): el for el in self.mdv.findall("odm:ItemDef", NS)}
        self.codelists = {el.get("OID"): el for el in self.mdv.findall("odm:CodeList", NS)}
        self.methods = {el.get("OID"): el for el in self.mdv.findall("odm:MethodDef", NS)}
        self.comments = {el.get("OID"): el for el in self.mdv.findall("def:CommentDef", NS)}
        self.where = {el.get("OID"): el for el in self.mdv.findall("def:WhereClauseDef", NS)}
        self.leaves = {el.get("ID"): el for el in self.mdv.iterfind(".//def:leaf", NS)}
        self.groups = self.mdv.findall("odm:ItemGroupDef", NS)

    def item_name(self, oid: str) -> str:
        item = self.items.get(oid)
        return item.get("Name") if item is not None else oid

    def qualified_name(self, oid: str) -> str:
        """DATASET.VARIABLE of an ItemDef OID (IT.ADRS.PARAMCD -> ADRS.PARAMCD)."""
        parts = oid.split(".")
        dataset = parts[1] if len(parts) >= 3 else ""
        return f"{dataset}.{self.item_name(oid)}" if dataset else self.item_name(oid)

    def where_text(self, oid: str) -> str:
        clause = self.where.get(oid)
        if clause is None:
            return _e(oid)
        parts = []
        for rc in clause.findall("odm:RangeCheck", NS):
            values = [cv.text or "" for cv in rc.findall("odm:CheckValue", NS)]
            item_oid = rc.get(DEF + "ItemOID")
            shown = ", ".join(f'"{v}"' for v in values)
            if len(values) > 1:
                shown = f"({shown})"
            parts.append(f"{self.item_name(item_oid)} {rc.get('Comparator')} {shown}")
        return _e(" and ".join(parts))

    def document_refs(self, el) -> str:
        links = []
        for ref in el.findall("def:DocumentRef", NS):
            leaf = self.leaves.get(ref.get("leafID"))
            title = leaf.findtext("def:title", namespaces=NS) if leaf is not None else ref.get("leafID")
            href = leaf.get(HREF) if leaf is not None else "#"
            pages = [
                p.get("PageRefs") or f"{p.get('FirstPage')}-{p.get('LastPage')}"
                for p in ref.findall("def:PDFPageRef", NS)
            ]
            suffix = f" p. {_e(', '.join(pages))}" if pages else ""
            links.append(f'<a href="{_e(href)}">{_e(title)}</a>{suffix}')
        return "; ".join(links)

    def origin(self, item) -> str:
        origin = item.find("def:Origin", NS)
        if origin is None:
            return ""
        text = _e(origin.get("Type"))
        if origin.get("Source"):
            text += f" ({_e(origin.get('Source'))})"
        detail = _desc(origin)
        if detail:
            text += f": {_e(detail)}"
        refs = self.document_refs(origin)
        return text + (f"<br>{refs}" if refs else "")

    def terms(self, item) -> str:
        ref = item.find("odm:CodeListRef", NS)
        if ref is None:
            return ""
        oid = ref.get("CodeListOID")
        cl = self.codelists.get(oid)
        name = cl.get("Name") if cl is not None else oid
        return _link(oid, name)

    def format(self, item) -> str:
        parts = []
        if item.get("SignificantDigits"):
            parts.append(f"{item.get('SignificantDigits')} significant digits")
        if item.get(DEF + "DisplayFormat"):
            parts.append(item.get(DEF + "DisplayFormat"))
        return _e(", ".join(parts))

    def derivation(self, ref, item) -> str:
        cells = []
        if ref is not None and ref.get("MethodOID"):
            method = self.methods.get(ref.get("MethodOID"))
            cells.append(f"{_link(ref.get('MethodOID'), 'Method')}: {_e(_desc(method))}")
        comment_oid = item.get(DEF + "CommentOID")
        if comment_oid:
            cells.append(f"{_link(comment_oid, 'Comment')}: {_e(_desc(self.comments.get(comment_oid)))}")
        return "<br>".join(cells)


def _header(d: _Define) -> str:
    study = d.root.find("odm:Study/odm:GlobalVariables", NS)
    name = study.findtext("odm:StudyName", namespaces=NS)
    desc = study.findtext("odm:StudyDescription", namespaces=NS)
    protocol = study.findtext("odm:ProtocolName", namespaces=NS)
    return (
        f"<header><h1>{_e(d.mdv.get('Name') or name)}</h1>"
        f'<p class="meta">{_e(desc)} &middot; Protocol {_e(protocol)} &middot; '
        f"Define-XML {_e(d.mdv.get(DEF + 'DefineVersion'))} &middot; "
        f"created {_e(d.root.get('CreationDateTime'))} by {_e(d.root.get('SourceSystem'))} "
        f"{_e(d.root.get('SourceSystemVersion'))}</p></header>"
    )


def _toc(d: _Define, has_arm: bool) -> str:
    datasets = "".join(f'<li><a href="#{_e(g.get("OID"))}">{_e(g.get("Name"))}</a></li>' for g in d.groups)
    entries = [("standards", "Standards"), ("documents", "Documents")]
    if has_arm:
        entries.append(("arm", "Analysis Results"))
    entries.append(("datasets", "Datasets"))
    tail = [
        ("valuelevel", "Value-Level Metadata"),
        ("codelists", "Codelists"),
        ("dictionaries", "External Dictionaries"),
        ("methods", "Methods"),
        ("comments", "Comments"),
    ]
    items = "".join(f'<li><a href="#{key}">{label}</a></li>' for key, label in entries)
    items += f"<ul>{datasets}</ul>"
    items += "".join(f'<li><a href="#{key}">{label}</a></li>' for key, label in tail)
    return f'<nav id="toc"><h2>Contents</h2><input id="filter" type="search" placeholder="Filter rows"><ul>{items}</ul></nav>'


def _standards(d: _Define) -> str:
    rows = [
        [_e(s.get("Name")), _e(s.get("Type")), _e(s.get("PublishingSet")), _e(s.get("Version")), _e(s.get("Status"))]
        for s in d.mdv.findall("def:Standards/def:Standard", NS)
    ]
    return (
        '<section id="standards"><h2>Standards</h2>'
        + _table(["Standard", "Type", "Publishing set", "Version", "Status"], rows, "plain")
        + "</section>"
    )


def _documents(d: _Define) -> str:
    rows = []
    for kind, tag in (("Annotated CRF", "def:AnnotatedCRF"), ("Supplemental document", "def:SupplementalDoc")):
        for ref in d.mdv.findall(f"{tag}/def:DocumentRef", NS):
            leaf = d.leaves.get(ref.get("leafID"))
            if leaf is not None:
                rows.append(
                    [
                        _e(kind),
                        f'<a id="{_e(leaf.get("ID"))}" href="{_e(leaf.get(HREF))}">'
                        f"{_e(leaf.findtext('def:title', namespaces=NS))}</a>",
                    ]
                )
    return (
        '<section id="documents"><h2>Documents</h2>'
        + _table(["Kind", "Document"], rows, "plain", empty="No documents are referenced.")
        + "</section>"
    )


def _arm(d: _Define) -> str:
    displays = d.mdv.find("arm:AnalysisResultDisplays", NS)
    if displays is None:
        return ""
    groups = {g.get("OID"): g.get("Name") for g in d.groups}
    out = ['<section id="arm"><h2>Analysis Results</h2>']
    for display in displays.findall("arm:ResultDisplay", NS):
        refs = d.document_refs(display)
        out.append(f'<h3 id="{_e(display.get("OID"))}">{_e(display.get("Name"))}: {_e(_desc(display))}</h3>')
        if refs:
            out.append(f'<p class="meta">{refs}</p>')
        for result in display.findall("arm:AnalysisResult", NS):
            rows = [
                ["Analysis result", f'<span id="{_e(result.get("OID"))}">{_e(_desc(result))}</span>'],
                ["Reason / purpose", f"{_e(result.get('AnalysisReason'))} / {_e(result.get('AnalysisPurpose'))}"],
            ]
            if result.get("ParameterOID"):
                rows.append(["Parameter", _e(d.qualified_name(result.get("ParameterOID")))])
            for ads in result.findall("arm:AnalysisDatasets/arm:AnalysisDataset", NS):
                where = ads.find("def:WhereClauseRef", NS)
                variables = ", ".join(d.item_name(v.get("ItemOID")) for v in ads.findall("arm:AnalysisVariable", NS))
                text = _link(ads.get("ItemGroupOID"), groups.get(ads.get("ItemGroupOID")))
                if where is not None:
                    text += f" where {d.where_text(where.get('WhereClauseOID'))}"
                if variables:
                    text += f"; analysis variables: {_e(variables)}"
                rows.append(["Analysis dataset", text])
            doc = result.find("arm:Documentation", NS)
            if doc is not None:
                refs = d.document_refs(doc)
                rows.append(["Documentation", _e(_desc(doc)) + (f"<br>{refs}" if refs else "")])
            code = result.find("arm:ProgrammingCode", NS)
            if code is not None:
                rows.append(
                    [
                        f"Programming code ({_e(code.get('Context'))})",
                        f"<pre>{_e(code.findtext('arm:Code', namespaces=NS))}</pre>",
                    ]
                )
            out.append(_table(None, rows, "plain arm"))
    out.append("</section>")
    return "".join(out)


def _keys(group) -> str:
    keyed = sorted(
        (int(ref.get("KeySequence")), ref.get("ItemOID"))
        for ref in group.findall("odm:ItemRef", NS)
        if ref.get("KeySequence")
    )
    return ", ".join(oid.rsplit(".", 1)[-1] for _, oid in keyed)


def _datasets(d: _Define) -> str:
    rows = []
    for g in d.groups:
        leaf = g.find("def:leaf", NS)
        cls = g.find("def:Class", NS)
        cls_text = cls.get("Name") if cls is not None else ""
        sub = cls.find("def:SubClass", NS) if cls is not None else None
        if sub is not None:
            cls_text += f" ({sub.get('Name')})"
        location = f'<a href="{_e(leaf.get(HREF))}">{_e(leaf.get(HREF))}</a>' if leaf is not None else ""
        rows.append(
            [
                _link(g.get("OID"), g.get("Name")),
                _e(_desc(g)),
                _e(cls_text),
                _e(g.get(DEF + "Structure")),
                _e(g.get("Purpose")),
                _e(_keys(g)),
                location,
            ]
        )
    out = [
        '<section id="datasets"><h2>Datasets</h2>',
        _table(["Dataset", "Description", "Class", "Structure", "Purpose", "Keys", "Location"], rows),
    ]
    with_role = bool(d.mdv.xpath("odm:ItemGroupDef/odm:ItemRef[@Role]", namespaces=NS))
    for g in d.groups:
        out.append(_dataset_section(d, g, with_role))
    out.append("</section>")
    return "".join(out)


def _dataset_section(d: _Define, g, with_role: bool) -> str:
    leaf = g.find("def:leaf", NS)
    href = leaf.get(HREF) if leaf is not None else ""
    comment = g.get(DEF + "CommentOID")
    rows = []
    for ref in g.findall("odm:ItemRef", NS):
        item = d.items.get(ref.get("ItemOID"))
        if item is None:
            rows.append([_e(ref.get("ItemOID")), "<em>no ItemDef</em>"] + [""] * (8 if with_role else 7))
            continue
        name = _e(item.get("Name"))
        if ref.get("KeySequence"):
            name = f'<span class="key" title="key {ref.get("KeySequence")}">{name}</span>'
        vl = item.find("def:ValueListRef", NS)
        label = _e(_desc(item))
        if vl is not None:
            label += f'<br><a class="vlm" href="#{_e(vl.get("ValueListOID"))}">value-level metadata</a>'
        row = [
            f'<span id="{_e(item.get("OID"))}">{name}</span>',
            label,
            _e(item.get("DataType")),
            _e(item.get("Length")),
            d.format(item),
            "Yes" if ref.get("Mandatory") == "Yes" else "No",
            d.terms(item),
            d.origin(item),
            _e(ref.get("Role")),
            d.derivation(ref, item),
        ]
        rows.append(row if with_role else row[:8] + row[9:])
    title = (
        f'<h3 id="{_e(g.get("OID"))}">{_e(g.get("Name"))} ({_e(_desc(g))}) '
        f'<a href="{_e(href)}">{_e(href)}</a><a class="top" href="#toc">contents</a></h3>'
    )
    note = ""
    if comment:
        note = f'<p class="meta">{_link(comment, "Comment")}: {_e(_desc(d.comments.get(comment)))}</p>'
    headers = [
        "Variable",
        "Label",
        "Type",
        "Length",
        "Format",
        "Mandatory",
        "Controlled terms",
        "Origin",
        "Role",
        "Derivation / comment",
    ]
    if not with_role:
        headers.remove("Role")
    return f'<section class="dataset">{title}{note}' + _table(headers, rows) + "</section>"


def _valuelevel(d: _Define) -> str:
    out = ['<section id="valuelevel"><h2>Value-Level Metadata</h2>']
    parents = {}
    for oid, item in d.items.items():
        vl = item.find("def:ValueListRef", NS)
        if vl is not None:
            parents[vl.get("ValueListOID")] = oid
    for vl in d.mdv.findall("def:ValueListDef", NS):
        parent = parents.get(vl.get("OID"), "")
        dataset = parent.split(".")[1] if parent.count(".") >= 2 else ""
        rows = []
        for ref in vl.findall("odm:ItemRef", NS):
            item = d.items.get(ref.get("ItemOID"))
            where = ref.find("def:WhereClauseRef", NS)
            if item is None:
                continue
            rows.append(
                [
                    d.where_text(where.get("WhereClauseOID")) if where is not None else "",
                    _e(_desc(item)),
                    _e(item.get("DataType")),
                    _e(item.get("Length")),
                    d.format(item),
                    d.terms(item),
                    d.origin(item),
                    d.derivation(ref, item),
                ]
            )
        out.append(
            f'<h3 id="{_e(vl.get("OID"))}">{_e(dataset)}.{_e(d.item_name(parent))}'
            f'<a class="top" href="#{_e(parent)}">variable</a></h3>'
        )
        out.append(
            _table(
                ["Where", "Label", "Type", "Length", "Format", "Controlled terms", "Origin", "Derivation / comment"],
                rows,
            )
        )
    out.append("</section>")
    return "".join(out)


def _codelists(d: _Define) -> str:
    out = ['<section id="codelists"><h2>Codelists</h2>']
    dictionaries = []
    for oid, cl in d.codelists.items():
        external = cl.find("odm:ExternalCodeList", NS)
        if external is not None:
            dictionaries.append(
                [
                    f'<span id="{_e(oid)}">{_e(cl.get("Name"))}</span>',
                    _e(external.get("Dictionary")),
                    _e(external.get("Version")),
                ]
            )
            continue
        alias = cl.find("odm:Alias[@Context='nci:ExtCodeID']", NS)
        code = f" [{_e(alias.get('Name'))}]" if alias is not None else ""
        rows = []
        extended = False
        for term in cl:
            tag = etree.QName(term).localname
            if tag not in ("CodeListItem", "EnumeratedItem"):
                continue
            term_alias = term.find("odm:Alias[@Context='nci:ExtCodeID']", NS)
            is_ext = term.get(DEF + "ExtendedValue") == "Yes"
            extended = extended or is_ext
            value = _e(term.get("CodedValue")) + (
                ' <span class="ext" title="sponsor extension">*</span>' if is_ext else ""
            )
            decode = term.findtext("odm:Decode/odm:TranslatedText", namespaces=NS) or ""
            rows.append([value, _e(decode), _e(term_alias.get("Name") if term_alias is not None else "")])
        out.append(f'<h3 id="{_e(oid)}">{_e(cl.get("Name"))}{code} <span class="meta mono">{_e(oid)}</span></h3>')
        out.append(_table(["Coded value", "Decode", "NCI code"], rows))
        if extended:
            out.append('<p class="meta"><span class="ext">*</span> sponsor extension of an extensible codelist</p>')
    out.append("</section>")
    out.append(
        '<section id="dictionaries"><h2>External Dictionaries</h2>'
        + _table(["Codelist", "Dictionary", "Version"], dictionaries, "plain", empty="No external dictionaries.")
        + "</section>"
    )
    return "".join(out)


def _methods(d: _Define) -> str:
    rows = []
    for oid, m in d.methods.items():
        expr = "".join(
            f'<pre>{_e(f.text)}</pre><span class="meta">{_e(f.get("Context"))}</span>'
            for f in m.findall("odm:FormalExpression", NS)
        )
        refs = d.document_refs(m)
        rows.append(
            [
                f'<span id="{_e(oid)}">{_e(m.get("Name"))}</span>',
                _e(m.get("Type")),
                _e(_desc(m)) + (f"<br>{refs}" if refs else ""),
                expr,
            ]
        )
    return (
        '<section id="methods"><h2>Methods</h2>'
        + _table(["Method", "Type", "Description", "Formal expression"], rows, empty="No methods.")
        + "</section>"
    )


def _comments(d: _Define) -> str:
    rows = [
        [
            f'<span id="{_e(oid)}">{_e(oid)}</span>',
            _e(_desc(c)) + (f"<br>{d.document_refs(c)}" if c.find("def:DocumentRef", NS) is not None else ""),
        ]
        for oid, c in d.comments.items()
    ]
    return (
        '<section id="comments"><h2>Comments</h2>'
        + _table(["Comment", "Description"], rows, empty="No comments.")
        + "</section>"
    )


def render_define_html(root) -> str:
    """The whole page for a parsed define.xml root element (``lxml.etree.fromstring(xml_bytes)``)."""
    if isinstance(root, etree._ElementTree):
        root = root.getroot()
    d = _Define(root)
    has_arm = d.mdv.find("arm:AnalysisResultDisplays", NS) is not None
    title = f"{root.findtext('odm:Study/odm:GlobalVariables/odm:StudyName', namespaces=NS)}: {d.mdv.get('Name')}"
    body = "".join(
        [
            _header(d),
            _standards(d),
            _documents(d),
            _arm(d) if has_arm else "",
            _datasets(d),
            _valuelevel(d),
            _codelists(d),
            _methods(d),
            _comments(d),
        ]
    )
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{CSS}</style></head>\n<body>{_toc(d, has_arm)}<main>{body}</main>"
        f"<script>{SCRIPT}</script></body></html>\n"
    )
