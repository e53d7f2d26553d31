"""SDTM derivations: small pure functions named after the IG concept, each citing its rule.

identifiers (USUBJID), sequence (--SEQ), study_day (--DY), epoch (EPOCH), visits
(VISIT/VISITNUM), baseline (--LOBXFL/--BLFL), reference_dates (RF*DTC), arms (ARM/ACTARM),
age (AGE/AGEU), supp (SUPPxx), trial_design (TA/TE/TV/SE), findings (--STRESC/--STRESN/--STRESU,
--TOXGR, --NRIND)."""
