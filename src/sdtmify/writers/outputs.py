"""The build's dataset files: for every dataset of a bundle, ``<name>.xpt`` (SAS XPT v5) in the standard's
folder and Dataset-JSON 1.1 ``.json`` and ``.ndjson`` in its ``dataset-json/`` subfolder."""

from __future__ import annotations

from pathlib import Path

from ..console import QUIET, Console
from ..datasets import Bundle
from ..errors import InputError, Location, WriteError
from ..reproducible import build_timestamp
from ..stagemeter import stage
from .datasetjson import prepare_dataset_json, write_forms
from .define import originator
from .readback import xpt_as_read
from .xpt import write_xpt

XPT_OPTIONS = ("sas_version", "os_name", "encoding", "transliterate")


def xpt_options(study) -> dict:
    """``output: xpt:`` of study.yaml (sas_version, os_name, encoding, transliterate), checked."""
    options = dict(getattr(study, "xpt_options", None) or {})
    unknown = sorted(set(options) - set(XPT_OPTIONS))
    if unknown:
        where = Location(getattr(study, "file", "study.yaml"), field="output.xpt")
        raise InputError(f"unknown option(s) {', '.join(unknown)}; allowed: {', '.join(XPT_OPTIONS)}", where)
    if not isinstance(options.get("transliterate", False), bool):
        where = Location(getattr(study, "file", "study.yaml"), field="output.xpt.transliterate")
        raise InputError(f"{options['transliterate']!r} should be true or false", where)
    return options


def write_bundle(
    bundle: Bundle, folder: str | Path, study, ui: Console = QUIET, forms: tuple[str, ...] = ("xpt", "dataset-json")
) -> list[Path]:
    """Write every dataset of ``bundle`` as XPT and Dataset-JSON; return the paths written, sorted.
    ``forms`` writes only some of the two (a two-lane build writes the XPT files first, the rest in its
    second lane); the per-dataset line (-v) comes with the Dataset-JSON.

    Header times are the study's build timestamp (study.yaml ``output.timestamp`` or
    $SOURCE_DATE_EPOCH), so rebuilding the same inputs gives byte-identical files. The Dataset-JSON
    ``originator`` is the sponsor, as define.xml's ODM/@Originator."""
    folder = Path(folder)
    stamp = build_timestamp(getattr(study, "timestamp", None))
    options = xpt_options(study)
    sponsor = originator(study)
    written = []
    for name in sorted(bundle.datasets):
        built = bundle.datasets[name]
        meta = built.meta
        stem = meta.name.lower()
        if "xpt" in forms:
            with stage("xpt"):
                written.append(
                    write_xpt(built.frame, meta, folder / f"{stem}.xpt", created=stamp, modified=stamp, **options)
                )
        if "dataset-json" not in forms:
            continue
        json_folder = folder / "dataset-json"
        with stage("dataset-json"):
            try:
                document = prepare_dataset_json(
                    built.frame,
                    meta,
                    metadata=bundle.metadata,
                    created=stamp,
                    modified=stamp,
                    standard=bundle.standard,
                    originator=sponsor,
                    metadata_ref="../define.xml",
                )
            except WriteError as exc:
                raise WriteError(f"{json_folder / stem}.json: {exc}") from exc
            written += write_forms(
                document, json_path=json_folder / f"{stem}.json", ndjson_path=json_folder / f"{stem}.ndjson"
            )
        ui.debug(f"  {meta.name}: {len(built.frame)} records -> {stem}.xpt, dataset-json/{stem}.json/.ndjson")
    return sorted(written)


def bundle_as_read(bundle: Bundle, folder: str | Path, study) -> dict[Path, tuple]:
    """What reading back the XPT files :func:`write_bundle` wrote into ``folder`` gives, from the frames in
    memory (:func:`sdtmify.writers.readback.xpt_as_read`): ``{path: (frame, Dataset)}``. A file only
    reading can tell about is left out; its reader reads it."""
    folder = Path(folder)
    encoding = xpt_options(study).get("encoding", "ascii")
    out = {}
    for name in sorted(bundle.datasets):
        built = bundle.datasets[name]
        path = folder / f"{built.meta.name.lower()}.xpt"
        read = xpt_as_read(built.frame, built.meta, path, encoding=encoding)
        if read is not None:
            out[path] = read
    return out
