"""``sdtmify check``: validate a study's mappings without writing anything.

Every schema problem of every file is listed (file:line key: message); when the files are valid,
the mappings are applied in memory to the source tables so that column names, codelist values,
dates and visit names are checked too (the first such problem is reported)."""

from __future__ import annotations

from ..errors import SdtmifyError
from .. import yamlio


def check_study(name: str, ct_file=None) -> list[str]:
    """One message per problem, [] when the study's mappings are valid."""
    from ..study import load_study
    from .engine import build_sdtm

    try:
        study = load_study(name)
    except SdtmifyError as exc:
        return [str(exc)]
    messages = []
    files = study.mapping_files("sdtm")
    if not files:
        return [f"{yamlio.display_path(study.folder / 'sdtm')}: no mapping files; write one per domain"]
    for path in files:
        try:
            document = yamlio.load_yaml(path)
        except SdtmifyError as exc:
            messages.append(str(exc))
            continue
        messages += [str(error) for error in yamlio.schema_errors(document, "mapping", yamlio.display_path(path))]
    if messages:
        return messages
    try:
        build_sdtm(study, ct_file=ct_file)
    except SdtmifyError as exc:
        return [str(exc)]
    return []
