"""The metadata object model shared by the engine, the writers, Define-XML and the validator.

Names mirror Define-XML 2.1 (ItemGroupDef -> Dataset, ItemDef -> Variable, CodeList, MethodDef,
def:ValueListDef/def:WhereClauseDef -> ValueLevel/Condition), so a reader who knows define.xml
knows these classes. Everything is immutable: derivations return new objects (dataclasses.replace).
"""

from __future__ import annotations

from dataclasses import dataclass, field

SAS_TYPES = ("Char", "Num")
# Define-XML 2.1 ItemDef/@DataType values we emit.
DATA_TYPES = (
    "text",
    "integer",
    "float",
    "date",
    "datetime",
    "time",
    "partialDate",
    "partialTime",
    "partialDatetime",
    "incompleteDatetime",
    "durationDatetime",
    "intervalDatetime",
)
ORIGIN_TYPES = ("Collected", "Derived", "Assigned", "Protocol", "Predecessor", "Not Available")
CORES = ("Req", "Exp", "Perm", "Cond")


@dataclass(frozen=True)
class Standard:
    """def:Standard: an IG or a CT package, e.g. ("SDTMIG", "3.4") or ("CDISC/NCI", "2025-03-28", "CT")."""

    oid: str
    name: str
    version: str
    type: str = "IG"  # IG | CT
    publishing_set: str | None = None  # SDTM | ADaM | DEFINE-XML (for CT)
    status: str = "Final"


@dataclass(frozen=True)
class CodeListItem:
    """One term. ``c_code`` is the NCI concept id (Alias Context="nci:ExtCodeID")."""

    coded_value: str
    decode: str | None = None
    c_code: str | None = None
    extended: bool = False  # sponsor extension of an extensible codelist (def:ExtendedValue)
    order: int | None = None


@dataclass(frozen=True)
class CodeList:
    """A codelist as used by the study: the subset of terms it uses, or an external dictionary."""

    oid: str  # "CL.NY", "CL.LBTESTCD"
    name: str  # "No Yes Response"
    data_type: str = "text"
    c_code: str | None = None  # NCI codelist code, e.g. C66742
    extensible: bool = False
    items: tuple[CodeListItem, ...] = ()
    standard_oid: str | None = None  # the CT package it comes from
    dictionary: str | None = None  # ExternalCodeList Dictionary, e.g. "MedDRA"
    dictionary_version: str | None = None
    sponsor_defined: bool = False  # no NCI codelist at all

    def values(self) -> tuple[str, ...]:
        return tuple(item.coded_value for item in self.items)


@dataclass(frozen=True)
class Origin:
    """def:Origin. ``source`` is Investigator/Sponsor/Subject/Vendor; ``description`` e.g. "DM.AGE"."""

    type: str
    source: str | None = None
    description: str | None = None
    document: str | None = None  # Document.oid (e.g. annotated CRF, protocol)
    pages: str | None = None


@dataclass(frozen=True)
class Method:
    """MethodDef: how a derived value is computed."""

    oid: str
    name: str
    description: str
    type: str = "Computation"  # Computation | Imputation
    expression: str | None = None  # def:FormalExpression
    expression_context: str | None = None
    document: str | None = None


@dataclass(frozen=True)
class Comment:
    oid: str
    description: str
    document: str | None = None


@dataclass(frozen=True)
class Document:
    """def:leaf: a document (protocol, aCRF, reviewer's guide) or a dataset file."""

    oid: str
    title: str
    href: str


@dataclass(frozen=True)
class Condition:
    """def:WhereClauseDef/RangeCheck: ``dataset.variable comparator values``."""

    variable: str  # "LBTESTCD"
    values: tuple[str, ...]
    comparator: str = "EQ"  # EQ | NE | IN | NOTIN
    dataset: str | None = None


@dataclass(frozen=True)
class ValueLevel:
    """One def:ValueListDef/ItemRef: the metadata of ``variable`` where all ``where`` hold."""

    where: tuple[Condition, ...]
    name: str  # the ItemDef name, normally the parent variable's
    label: str
    data_type: str
    length: int | None = None
    significant_digits: int | None = None
    codelist: str | None = None
    origin: Origin | None = None
    method: str | None = None
    mandatory: bool = False
    format: str = ""
    comment: str | None = None


@dataclass(frozen=True)
class Variable:
    """ItemDef + ItemRef: a dataset variable.

    ``length`` is the declared byte length written to XPT and define.xml (8 for Num);
    ``format`` the SAS display format (e.g. "DATE9." for ADaM numeric dates)."""

    name: str
    label: str
    type: str  # "Char" | "Num"
    length: int
    data_type: str  # Define-XML DataType
    order: int
    core: str = "Perm"  # Req | Exp | Perm (SDTM); Req | Cond | Perm (ADaM)
    role: str | None = None  # SDTM role: Identifier, Topic, Timing, ...
    codelist: str | None = None  # CodeList.oid
    origin: Origin | None = None
    method: str | None = None  # Method.oid
    format: str = ""
    informat: str = ""
    significant_digits: int | None = None
    key_sequence: int | None = None
    comment: str | None = None  # Comment.oid
    value_levels: tuple[ValueLevel, ...] = ()

    @property
    def mandatory(self) -> bool:
        """Define-XML Mandatory: Required variables must be present and never null."""
        return self.core == "Req"


@dataclass(frozen=True)
class Dataset:
    """ItemGroupDef: one dataset with its variables in their output order."""

    name: str  # "AE", "SUPPAE", "ADSL"
    label: str
    purpose: str  # Tabulation | Analysis
    standard_oid: str | None = None
    class_: str = ""  # "EVENTS", "SUBJECT LEVEL ANALYSIS DATASET", ...
    subclass: str | None = None  # ADaM subclass, e.g. "TIME-TO-EVENT"
    structure: str = ""  # "One record per subject", ...
    domain: str | None = None
    repeating: bool = True
    is_reference: bool = False
    keys: tuple[str, ...] = ()
    variables: tuple[Variable, ...] = ()
    comment: str | None = None
    leaf: str | None = None  # relative file name, e.g. "ae.xpt"

    def variable(self, name: str) -> Variable:
        for var in self.variables:
            if var.name == name:
                return var
        raise KeyError(f"{self.name} has no variable {name}")

    @property
    def variable_names(self) -> tuple[str, ...]:
        return tuple(var.name for var in self.variables)


@dataclass(frozen=True)
class StudyMetadata:
    """Everything define.xml says about one standard's datasets (SDTM or ADaM) of one study."""

    study_oid: str
    study_name: str
    description: str
    protocol_name: str
    standards: tuple[Standard, ...] = ()
    datasets: tuple[Dataset, ...] = ()
    codelists: tuple[CodeList, ...] = ()
    methods: tuple[Method, ...] = ()
    comments: tuple[Comment, ...] = ()
    documents: tuple[Document, ...] = ()
    extra: dict = field(default_factory=dict, compare=False)  # e.g. analysis results metadata

    def dataset(self, name: str) -> Dataset:
        for ds in self.datasets:
            if ds.name == name:
                return ds
        raise KeyError(f"no dataset {name}")

    def codelist(self, oid: str) -> CodeList:
        for cl in self.codelists:
            if cl.oid == oid:
                return cl
        raise KeyError(f"no codelist {oid}")
