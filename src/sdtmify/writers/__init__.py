"""Writers: SAS XPT v5 (xpt), Dataset-JSON 1.1 (datasetjson), format conversion (convert), the build's
dataset outputs (outputs), Define-XML (define) and lineage.

Modules are imported by name (``from sdtmify.writers.xpt import write_xpt``); nothing is imported here so
that loading one writer never pulls in the others."""
