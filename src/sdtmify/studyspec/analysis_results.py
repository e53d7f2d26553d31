"""Analysis Results Metadata (ARM 1.0 for Define-XML 2.1), read and checked: which displays, from which
ADaM records. The XML is written by :mod:`sdtmify.writers.define_arm`.

A study declares its analyses in ``mappings/<STUDY>/adam/analysis_results.yaml``::

    displays:
      - id: T3-BOR                      # ResultDisplay OID RD.T3-BOR
        name: Table 3
        title: Best overall response (RECIST)
        results:
          - id: CBR                     # AnalysisResult OID AR.CBR
            description: Clinical benefit rate (CR + PR + SD) with 95% CI
            reason: SPECIFIED IN PROTOCOL
            purpose: PRIMARY OUTCOME MEASURE
            parameter: ADRS.PARAMCD     # the variable whose value selects the parameter
            datasets:
              - dataset: ADRS
                where: {PARAMCD: CBR}   # a value, or a list of values (IN)
                variables: [AVALC]
            documentation: Proportion of subjects with ...
            code: {context: Python 3.11, text: "..."}

Every dataset, variable and document named here must exist in the ADaM metadata: a typo is an
error naming the file, line and key, not a dangling OID in define.xml."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import Location, MetadataError
from ..metadata import oids
from ..metadata.model import Condition, StudyMetadata
from ..yamlio import display_path, load_yaml

REASONS = ("SPECIFIED IN PROTOCOL", "SPECIFIED IN SAP", "DATA DRIVEN", "REQUESTED BY REGULATORY AGENCY")
PURPOSES = ("PRIMARY OUTCOME MEASURE", "SECONDARY OUTCOME MEASURE", "EXPLORATORY OUTCOME MEASURE")
FILE_NAME = "analysis_results.yaml"


@dataclass(frozen=True)
class AnalysisDataset:
    dataset: str
    where: tuple[Condition, ...] = ()
    variables: tuple[str, ...] = ()


@dataclass(frozen=True)
class AnalysisResult:
    id: str
    description: str
    reason: str
    purpose: str
    datasets: tuple[AnalysisDataset, ...]
    parameter: str | None = None  # "ADRS.PARAMCD"
    documentation: str | None = None
    documents: tuple[str, ...] = ()
    code: str | None = None
    code_context: str | None = None

    @property
    def oid(self) -> str:
        return oids.analysis_result_oid(self.id)


@dataclass(frozen=True)
class ResultDisplay:
    id: str
    name: str
    title: str
    results: tuple[AnalysisResult, ...]
    documents: tuple[str, ...] = ()

    @property
    def oid(self) -> str:
        return oids.result_display_oid(self.id)


# ---------------------------------------------------------------------------------------------
# Loading.


class _Where:
    """Where a YAML node is, for messages; works on plain dicts too (line unknown)."""

    def __init__(self, file: str) -> None:
        self.file = file

    def error(self, node: Any, key: object, message: str) -> MetadataError:
        line: int | None = None
        if hasattr(node, "line_of"):
            line = node.line_of(key)
        elif hasattr(node, "line"):
            line = node.line
        return MetadataError(message, Location(self.file, line, str(key) if key is not None else None))


def _present(node: Any, key: str, at: _Where) -> Any:
    """The value of a required key, whatever its type (the caller checks it)."""
    if not isinstance(node, dict) or key not in node or node[key] in (None, ""):
        raise at.error(node, key, f"missing required key '{key}'")
    return node[key]


def _required(node: Any, key: str, at: _Where) -> str:
    """A required key whose value is text (a number is taken as its text)."""
    value = _present(node, key, at)
    if not isinstance(value, (str, int, float)):
        raise at.error(node, key, f"'{key}' should be text")
    return str(value)


def _conditions(node: Any, dataset: str, at: _Where) -> tuple[Condition, ...]:
    where = node.get("where")
    if where is None:
        return ()
    if not isinstance(where, dict) or not where:
        raise at.error(
            node, "where", "'where' should map variables to a value or a list of values, e.g. {PARAMCD: CBR}"
        )
    found = []
    for variable, value in where.items():
        values = tuple(str(v) for v in value) if isinstance(value, list) else (str(value),)
        found.append(
            Condition(
                variable=str(variable), values=values, comparator="IN" if len(values) > 1 else "EQ", dataset=dataset
            )
        )
    return tuple(found)


def parse_analysis_results(document: Any, file: str = FILE_NAME) -> tuple[ResultDisplay, ...]:
    """The displays of an analysis_results document (YAML nodes or plain dicts)."""
    at = _Where(file)
    if not isinstance(document, dict) or not isinstance(document.get("displays"), list):
        raise at.error(document, "displays", "expected a list under 'displays:'")
    displays = []
    for node in document["displays"]:
        results = []
        result_nodes = _present(node, "results", at)
        if not isinstance(result_nodes, list) or not result_nodes:
            raise at.error(node, "results", "'results' should list at least one analysis result")
        for rnode in result_nodes:
            reason = _required(rnode, "reason", at)
            purpose = _required(rnode, "purpose", at)
            dataset_nodes = _present(rnode, "datasets", at)
            if not isinstance(dataset_nodes, list) or not dataset_nodes:
                raise at.error(rnode, "datasets", "'datasets' should list at least one analysis dataset")
            datasets = []
            for dnode in dataset_nodes:
                name = _required(dnode, "dataset", at)
                variables = dnode.get("variables", [])
                if not isinstance(variables, list):
                    raise at.error(dnode, "variables", "'variables' should be a list of variable names")
                datasets.append(AnalysisDataset(name, _conditions(dnode, name, at), tuple(str(v) for v in variables)))
            code = rnode.get("code") or {}
            if code and not isinstance(code, dict):
                raise at.error(rnode, "code", "'code' should be {context: ..., text: ...}")
            results.append(
                AnalysisResult(
                    id=_required(rnode, "id", at),
                    description=_required(rnode, "description", at),
                    reason=reason,
                    purpose=purpose,
                    datasets=tuple(datasets),
                    parameter=rnode.get("parameter"),
                    documentation=rnode.get("documentation"),
                    documents=tuple(rnode.get("documents", []) or ()),
                    code=code.get("text"),
                    code_context=code.get("context"),
                )
            )
        displays.append(
            ResultDisplay(
                id=_required(node, "id", at),
                name=_required(node, "name", at),
                title=_required(node, "title", at),
                results=tuple(results),
                documents=tuple(node.get("documents", []) or ()),
            )
        )
    return tuple(displays)


def check_analysis_results(
    displays: tuple[ResultDisplay, ...], metadata: StudyMetadata, document: Any = None, file: str = FILE_NAME
) -> None:
    """Every dataset, variable, parameter and document an analysis names exists in the ADaM metadata."""
    at = _Where(file)
    datasets = {ds.name: ds for ds in metadata.datasets}
    documents = {doc.oid for doc in metadata.documents}
    nodes = document.get("displays", []) if isinstance(document, dict) else []
    for d_index, display in enumerate(displays):
        dnode = nodes[d_index] if d_index < len(nodes) else {}
        for doc in display.documents:
            if doc not in documents:
                raise at.error(
                    dnode,
                    "documents",
                    f"{display.id}: document {doc!r} is not in the study's "
                    f"documents ({', '.join(sorted(documents)) or 'none declared'})",
                )
        rnodes = dnode.get("results", []) if isinstance(dnode, dict) else []
        for r_index, result in enumerate(display.results):
            rnode = rnodes[r_index] if r_index < len(rnodes) else {}
            where = f"{display.id}/{result.id}"
            if result.reason not in REASONS:
                raise at.error(rnode, "reason", f"{where}: reason {result.reason!r} is not one of {', '.join(REASONS)}")
            if result.purpose not in PURPOSES:
                raise at.error(
                    rnode, "purpose", f"{where}: purpose {result.purpose!r} is not one of {', '.join(PURPOSES)}"
                )
            if result.parameter:
                ds_name, _, var = result.parameter.partition(".")
                if ds_name not in datasets or var not in datasets[ds_name].variable_names:
                    raise at.error(
                        rnode,
                        "parameter",
                        f"{where}: parameter {result.parameter!r} is not a "
                        "variable of the ADaM metadata (write DATASET.VARIABLE, e.g. ADRS.PARAMCD)",
                    )
            for doc in result.documents:
                if doc not in documents:
                    raise at.error(rnode, "documents", f"{where}: document {doc!r} is not in the study's documents")
            anodes = rnode.get("datasets", []) if isinstance(rnode, dict) else []
            for a_index, ads in enumerate(result.datasets):
                anode = anodes[a_index] if a_index < len(anodes) else {}
                if ads.dataset not in datasets:
                    raise at.error(
                        anode,
                        "dataset",
                        f"{where}: dataset {ads.dataset!r} is not among the ADaM datasets ({', '.join(datasets)})",
                    )
                names = datasets[ads.dataset].variable_names
                for cond in ads.where:
                    if cond.variable not in names:
                        raise at.error(anode, "where", f"{where}: {ads.dataset} has no variable {cond.variable!r}")
                for var in ads.variables:
                    if var not in names:
                        raise at.error(anode, "variables", f"{where}: {ads.dataset} has no variable {var!r}")


def load_analysis_results(path: Path, metadata: StudyMetadata) -> tuple[ResultDisplay, ...]:
    """Read and check ``analysis_results.yaml`` against the ADaM metadata."""
    document = load_yaml(path)
    file = display_path(path)
    displays = parse_analysis_results(document, file)
    check_analysis_results(displays, metadata, document, file)
    return displays


def analysis_results_for(metadata: StudyMetadata, study: object) -> tuple[ResultDisplay, ...]:
    """The ARM of an ADaM define: the study's ``adam/analysis_results.yaml``, checked against the ADaM
    metadata; none when the study has no such file."""
    folder = getattr(study, "folder", None)
    if folder is not None and (Path(folder) / "adam" / FILE_NAME).is_file():
        return load_analysis_results(Path(folder) / "adam" / FILE_NAME, metadata)
    return ()
