"""The example studies shipped with sdtmify, installed as the package ``sdtmify.examples``.

pyproject.toml maps this folder onto that package name (``package-dir``) so that
``sdtmify build --study NCI84`` works from an installed wheel; this file only makes the folder
importable. ``sdtmify.resources.example_study`` finds a study here."""
