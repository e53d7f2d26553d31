"""The standards' metadata shipped with sdtmify, installed as the package ``sdtmify.specs``.

pyproject.toml maps this folder onto that package name (``package-dir``) so that the editable install
and the wheel read the same files; this file only makes the folder importable. Read the files through
``sdtmify.resources``, never by path arithmetic."""
