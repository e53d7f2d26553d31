"""ADaM: subject-level (ADSL), BDS (ADRS, ADTTE, ADLB) and OCCDS (ADAE) datasets derived from SDTM.

Declared per study in ``mappings/<STUDY>/adam/*.yaml`` and built by :func:`engine.build_adam` from a
library of derivations in the admiral spirit: one public function per derivation, named by the ADaM
concept (``derive_var_trtsdt``, ``derive_param_bor``, ``derive_param_tte``...), whose docstring's first
paragraph states the rule it implements (and becomes the define.xml MethodDef text)."""
