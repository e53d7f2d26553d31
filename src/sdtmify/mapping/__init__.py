"""The declarative mapping engine: YAML mappings in, SDTM datasets out.

yamlio (line-tracking load + schema validation), expressions (the closed vocabulary of
operations), findings (result standardization, grading, reference-range indicators),
engine (the order of work), check (validate without building), scaffold (``sdtmify init``)."""
