"""A study's declarative specifications read and checked: the YAML under ``mappings/<STUDY>/`` that the
analysis-results (ARM) part of define.xml and the report are built from.

One layer below the writers, the report and ``sdtmify check``, which all import it downward; it
depends only on the metadata model, the YAML loader and the error types. (The SDTM mapping files and
the ADaM dataset specs are read by :mod:`sdtmify.mapping.loader` and :mod:`sdtmify.adam.spec`, which
already sit below every stage that reads them.)"""
