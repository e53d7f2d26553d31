"""The declarative mapping engine: YAML mappings in, SDTM datasets out.

expressions (the closed vocabulary of operations), engine (the order of work), check (validate
without building), scaffold (``sdtmify init``). The YAML loader is :mod:`sdtmify.yamlio`; the SDTM
derivations the engine applies are in :mod:`sdtmify.derive`."""
