"""The define.xml side of an ADaM dataset: variables with labels, types, lengths, origins, methods,
value-level metadata by PARAMCD, and the codelists the data use.

Labels, types, core and formats come, in this order, from the YAML, the ADaMIG 1.3 template
(:func:`sdtmify.metadata.standards.adam_dataset`) and the predecessor variable's own metadata
(e.g. DM.AGE for ADSL.AGE); a variable none of them describes is an error naming the YAML line."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ..distinct import factorize
from ..metadata.model import (
    CodeList,
    CodeListItem,
    Condition,
    Dataset,
    Method,
    Origin,
    StudyMetadata,
    ValueLevel,
    Variable,
)
from ..metadata.oids import codelist_oid, method_oid
from ..metadata.standards import adam_dataset
from .checks import AdamError
from .dates import DATE_FORMAT
from .spec import DatasetSpec, VariableSpec
from .steps import Context

PARAM_VARIABLES = ("AVAL", "AVALC")


@dataclass
class Lookup:
    """Metadata already known: the SDTM bundle's and the ADaM datasets finished so far."""

    sdtm: StudyMetadata
    adam: dict[str, Dataset]

    def predecessor(self, description: str, frames: dict[str, pd.DataFrame]) -> Variable | None:
        """The Variable a predecessor description ("DM.AGE", "SUPPDM.QVAL where QNAM = X") names."""
        dataset, _, rest = description.partition(".")
        variable = rest.split(" ", 1)[0]
        meta = self.adam.get(dataset)
        if meta is None:
            try:
                meta = self.sdtm.dataset(dataset)
            except KeyError:
                return None
        try:
            found = meta.variable(variable)
        except KeyError:
            return None
        if variable == "QVAL" and "QNAM = " in rest and dataset in frames:
            supp = frames[dataset]
            qnam = rest.split("QNAM = ", 1)[1]
            labels = supp.loc[supp["QNAM"] == qnam, "QLABEL"]
            found = replace(found, label=str(labels.iloc[0]) if len(labels) else found.label, codelist=None)
        return found


def _byte_length(values: pd.Series) -> int:
    """The longest value in UTF-8 bytes (at least 1; a missing value counts as empty), measured over
    the distinct values only. A Python set of the column's objects is the cheapest way to them: text
    hashes are cached on the objects, which repeat (a lab has few units and many results)."""
    distinct = set(values.to_numpy(dtype=object))
    texts = [v if isinstance(v, str) else str(v) for v in distinct if not pd.isna(v)]
    return max(1, max((len(text.encode("utf-8")) for text in texts), default=0))


def _numeric_type(values: pd.Series) -> str:
    present = values.dropna()
    return "integer" if present.empty or np.all(np.mod(present.to_numpy(), 1) == 0) else "float"


def variable_meta(
    spec: VariableSpec,
    order: int,
    frame: pd.DataFrame,
    template: dict[str, Variable],
    predecessor: Variable | None,
    dataset: DatasetSpec,
) -> Variable:
    """One ItemDef: YAML first, then the ADaMIG template, then the predecessor's metadata."""
    base = template.get(spec.name) or predecessor
    label = spec.label or (base.label if base else None)
    vtype = spec.type or (base.type if base else None)
    if not label or not vtype:
        raise AdamError(
            f"{spec.name} is not an ADaMIG {dataset.cls} variable and has no predecessor to take "
            f"its metadata from; give it a label and a type (Char or Num)",
            dataset.location(spec.line, f"variables.{spec.name}"),
        )
    values = frame[spec.name]
    if vtype == "Num" and not pd.api.types.is_numeric_dtype(values):
        numbers = pd.to_numeric(values.where(values != ""), errors="coerce")
        text = values[numbers.isna() & values.notna() & (values != "")]
        if len(text):
            raise AdamError(
                f"{spec.name} is Num but holds text such as {text.iloc[0]!r}; declare it Char or derive a number",
                dataset.location(spec.line, f"variables.{spec.name}"),
            )
        values = numbers
    if vtype == "Num":
        data_type = spec.data_type or (base.data_type if base and base.type == "Num" else _numeric_type(values))
        fmt = spec.format or (base.format if base and base.format else "")
        if not fmt and spec.name.endswith("DT"):
            fmt = DATE_FORMAT
        length = 8
    else:
        data_type = spec.data_type or (base.data_type if base and base.type == "Char" else "text")
        fmt = spec.format or ""
        length = spec.length or _byte_length(values)
    codelist = spec.codelist or (base.codelist if base else None)
    if codelist and not codelist.startswith("CL."):
        codelist = codelist_oid(codelist)
    return Variable(
        name=spec.name,
        label=label,
        type=vtype,
        length=length,
        data_type=data_type,
        order=order,
        core=spec.core or (template[spec.name].core if spec.name in template else "Perm"),
        codelist=codelist,
        format=fmt,
        comment=spec.comment,
    )


def template_variables(spec: DatasetSpec) -> tuple[Dataset, dict[str, Variable]]:
    template = adam_dataset(spec.name, spec.cls, label=spec.label)
    return template, {var.name: var for var in template.variables}


def origin_of(name: str, ctx: Context, dataset: str, assigned: set[str]) -> tuple[Origin, str | None]:
    """Predecessor when the value is copied, Assigned for constants, otherwise Derived with a method."""
    if name in ctx.predecessors:
        return Origin(type="Predecessor", description=ctx.predecessors[name]), None
    if name in assigned:
        return Origin(type="Assigned", source="Sponsor"), None
    return Origin(type="Derived", source="Sponsor"), method_oid(f"{dataset}.{name}")


def _per_parameter(frame: pd.DataFrame, variable: Variable) -> dict[str, tuple[str, int]]:
    """For each PARAMCD holding a value of ``variable``: its data type and length (text: the longest
    value in UTF-8 bytes; numbers: integer or float, length 8). Computed over the distinct
    (PARAMCD, value) pairs, so a parameter of a million records costs one hash, not a scan per code."""
    param_codes, params = factorize(frame["PARAMCD"])
    values = frame[variable.name]
    if variable.type == "Char":
        value_codes, distinct = factorize(values)
        width = max(len(distinct), 1)
        empty = distinct.get_indexer([""])[0] if len(distinct) else -1  # -1 when no value is ""
        present = (value_codes >= 0) & (value_codes != empty) & (param_codes >= 0)
        pairs = np.unique(param_codes[present].astype(np.int64) * width + value_codes[present])
        lengths = pd.Series(distinct, dtype=object).astype(str).str.encode("utf-8").str.len().to_numpy()
        longest = pd.Series(lengths[pairs % width]).groupby(pairs // width).max()
        return {params[i]: ("text", max(1, int(n))) for i, n in longest.items()}
    numbers = values.to_numpy(dtype="float64", na_value=np.nan)
    present = ~np.isnan(numbers) & (param_codes >= 0)
    count = np.bincount(param_codes[present], minlength=len(params))
    fraction = np.bincount(param_codes[present], weights=(np.mod(numbers[present], 1) != 0), minlength=len(params))
    return {params[i]: ("float" if fraction[i] else "integer", 8) for i in np.flatnonzero(count)}


def value_levels(
    dataset: str, variable: Variable, frame: pd.DataFrame, ctx: Context, methods: dict[str, Method]
) -> tuple[ValueLevel, ...]:
    """Value-level metadata of AVAL/AVALC by PARAMCD (Define-XML 2.1 def:ValueListDef): each
    parameter's origin (predecessor or derivation), data type, length and codelist. A derived value
    gets the parameter's method (MT.<dataset>.<PARAMCD>); a variable another step derives on a
    parameter that already has a method (AVAL coded from a derived AVALC) gets its own
    (MT.<dataset>.<PARAMCD>.<variable>), so that every MethodDef states the rule it names."""
    levels = []
    described = _per_parameter(frame, variable)
    for code in sorted(ctx.params):
        if code not in described:
            continue
        info = ctx.params[code]
        method = None
        if variable.name in info.predecessors:
            origin = Origin(type="Predecessor", description=info.predecessors[variable.name])
        else:
            origin = Origin(type="Derived", source="Sponsor")
            later = info.derived.get(variable.name)
            name = f"Algorithm for {dataset} PARAMCD {code}"
            text: str | None
            if later and info.method:
                method, name, text = method_oid(f"{dataset}.{code}.{variable.name}"), f"{name} {variable.name}", later
            else:
                method, text = method_oid(f"{dataset}.{code}"), info.method or later or ctx.methods.get(variable.name)
            if not text:
                raise AdamError(
                    f"{dataset}.{variable.name} of PARAMCD {code} is derived but no step states how; "
                    f"add a 'description' to the step that derives it"
                )
            methods[method] = Method(oid=method, name=name, description=text)
        codelist = codelist_oid(info.codelist) if (info.codelist and variable.type == "Char") else None
        data_type, length = described[code]
        levels.append(
            ValueLevel(
                where=(Condition(variable="PARAMCD", values=(code,), comparator="EQ", dataset=dataset),),
                name=variable.name,
                label=variable.label,
                data_type=data_type,
                length=length,
                codelist=codelist,
                origin=origin,
                method=method,
            )
        )
    return tuple(levels)


def parameter_codelists(dataset: str, frame: pd.DataFrame) -> list[CodeList]:
    """PARAMCD (decoded by PARAM) and PARAM codelists of a BDS dataset, sponsor-defined."""
    # the distinct pairs in order of first appearance (drop_duplicates' order), found from two hash
    # passes and integer codes rather than by hashing every record's pair of strings
    code_of, codes = factorize(frame["PARAMCD"], use_na_sentinel=False)
    name_of, names = factorize(frame["PARAM"], use_na_sentinel=False)
    pair = pd.unique(code_of.astype("int64") * max(len(names), 1) + name_of)
    pairs = pd.DataFrame(
        {"PARAMCD": codes.take(pair // max(len(names), 1)), "PARAM": names.take(pair % max(len(names), 1))}
    ).sort_values("PARAMCD", kind="stable")
    if pairs.empty:  # no records: no terms, and define.xml allows no empty codelist
        return []
    codes = tuple(
        CodeListItem(coded_value=row.PARAMCD, decode=row.PARAM, order=index)
        for index, row in enumerate(pairs.itertuples(), start=1)
    )
    names = tuple(
        CodeListItem(coded_value=row.PARAM, order=index) for index, row in enumerate(pairs.itertuples(), start=1)
    )
    return [
        CodeList(
            oid=codelist_oid(f"{dataset}.PARAMCD"), name=f"{dataset} Parameter Code", items=codes, sponsor_defined=True
        ),
        CodeList(oid=codelist_oid(f"{dataset}.PARAM"), name=f"{dataset} Parameter", items=names, sponsor_defined=True),
    ]


DICTIONARY_NAMES = "C66788"  # Define-XML CT "Dictionary Name", the values ExternalCodeList/@Dictionary takes


def dictionary_name(name: str | None, ct) -> str | None:
    """An external dictionary's name as Define-XML 2.1 CT spells it (codelist C66788, Dictionary Name):
    "MEDDRA" becomes "MedDRA". A name the CT does not list is kept as given (a sponsor dictionary)."""
    if not name or ct is None or not ct.has_codelist(DICTIONARY_NAMES):
        return name
    spelled = {item.coded_value.casefold(): item.coded_value for item in ct.codelist(DICTIONARY_NAMES).items}
    return spelled.get(name.casefold(), name)


def build_codelists(used: dict[str, set[str]], sdtm: StudyMetadata, ct) -> list[CodeList]:
    """One CodeList per oid the ADaM variables name, restricted to the values the data use: an
    external dictionary (MedDRA) as the SDTM bundle or the CT declares it; else the CT package's
    codelist (C-codes; values outside it as sponsor extensions); else the SDTM bundle's codelist;
    else a sponsor-defined list. An oid whose variables hold no value at all gets no codelist."""
    sdtm_lists = {cl.oid: cl for cl in sdtm.codelists}
    ct_names = {codelist_oid(name): name for name in ct.codelist_names()} if ct is not None else {}
    result = []
    for oid in sorted(used):
        values = sorted(v for v in used[oid] if v != "")
        if ct is not None and ct.is_external(oid):
            external = sdtm_lists.get(oid) or ct.codelist(oid)
            result.append(replace(external, dictionary=dictionary_name(external.dictionary, ct)))
        elif not values:
            continue
        elif oid in ct_names:
            result.append(ct.subset(ct_names[oid], values))
        elif oid in sdtm_lists:
            known = sdtm_lists[oid]
            kept = tuple(item for item in known.items if item.coded_value in set(values))
            extra = sorted(set(values) - {item.coded_value for item in kept})
            kept += tuple(CodeListItem(coded_value=value, extended=True) for value in extra)
            result.append(replace(known, items=kept))
        else:
            result.append(
                CodeList(
                    oid=oid,
                    name=oid.removeprefix("CL."),
                    sponsor_defined=True,
                    items=tuple(CodeListItem(coded_value=v, order=i) for i, v in enumerate(values, start=1)),
                )
            )
    return result
