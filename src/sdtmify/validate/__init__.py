"""The conformance validator: a declarative rule catalogue (specs/rules/*.yaml) run on any folder
of SDTM/ADaM datasets, with JSON, Excel and console reports.

Layers, each one module: ``data`` reads datasets into ``Table`` objects; ``rules`` loads the
catalogue; ``conditions`` evaluates the small condition language; ``checks/`` holds one family of
checks per file; ``engine`` runs rules into findings; ``report_*`` write them; ``run`` is the
entry point for the CLI and for ``sdtmify build``."""
