"""Regenerate the generated parts of mapping.schema.json: the expression keys from the mapping
algorithms' fragments (``$defs/expression``) and the derivation steps from theirs (``$defs/derivation``).

Usage: python -m sdtmify.mapping.schema specs/schema/mapping.schema.json"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .algorithms import expression_properties
from .derivations import derivation_schema


def generated(schema: dict) -> dict:
    """``schema`` with its generated parts replaced by what the registries give."""
    schema["$defs"]["expression"]["properties"] = expression_properties()
    schema["$defs"]["derivation"] = derivation_schema()
    return schema


def main(path: str) -> None:
    target = Path(path)
    schema = generated(json.loads(target.read_text(encoding="utf-8")))
    target.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
