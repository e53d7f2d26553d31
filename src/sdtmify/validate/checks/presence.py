"""Presence checks: variables that must (not) be in a dataset, IG Required/Expected, datasets in a study."""

from __future__ import annotations

from ..conditions import MissingInput
from ..hits import Hits


def _all_present(view, names) -> bool:
    return all(view.has(n) for n in names)


def presence(rule, view, ctx) -> list[Hits]:
    """``variables`` must be ``present`` (default) or ``absent``; only ``if_present``/``if_absent`` hold.

    E.g. CG0468: --TPTNUM present when --TPT is; CG0352: --DTHREL never used in human trials."""
    chk = rule.check
    if not _all_present(view, chk.get("if_present", [])):
        return []
    if any(view.has(n) for n in chk.get("if_absent", [])):
        return []
    must = chk.get("must", "present")
    items = []
    for name in chk["variables"]:
        there = view.has(name)
        if (must == "present") != there:
            items.append({"variable": view.expand(name), "value": "present" if there else "not in dataset"})
    return [Hits(view.table.name, items=items)]


def _ig_dataset(view, ctx):
    if ctx.standards is None:
        raise MissingInput("no IG metadata available (sdtmify.metadata.standards not installed)")
    meta = ctx.standards.dataset(view.table)
    if meta is None:
        raise MissingInput(f"{view.table.name} is not an IG dataset (custom domain or unknown to the IG metadata)")
    return meta


def ig_presence(rule, view, ctx) -> list[Hits]:
    """Variables of core ``core`` (Req | Exp) in the IG template must be present (SDTMIG 4.1.5, CG0014/
    CG0016); with ``nulls: true``, Required variables must also be populated on every record."""
    meta = _ig_dataset(view, ctx)
    core = rule.check["core"]
    names = [v.name for v in meta.variables if v.core == core]
    if rule.check.get("nulls"):
        hits = []
        for name in names:
            if view.has(name):
                hits.append(Hits(view.table.name, view.null(name), (name,), view=view))
        return hits
    items = [{"variable": n, "value": "not in dataset", "core": core} for n in names if not view.has(n)]
    return [Hits(view.table.name, items=items)]


def dataset_present(rule, ctx, tables) -> list[Hits]:
    """Datasets that must be (or, with ``must: absent``, must not be) in the study, e.g. DM (CG0368).

    ``if_present`` names datasets whose presence triggers the rule."""
    chk = rule.check
    names = set(ctx.validated())
    if not all(n in names for n in chk.get("if_present", [])):
        return [Hits("(study)", items=[])]
    must = chk.get("must", "present")
    items = []
    for name in chk["datasets"]:
        if (must == "present") != (name in names):
            items.append({"variable": "", "value": name, "missing": name})
    target = chk["datasets"][0] if len(chk["datasets"]) == 1 else "(study)"
    return [Hits(target, items=items)]
