"""Regenerate the expression part of mapping.schema.json from the algorithms' schema fragments.

Usage: python -m sdtmify.mapping.algorithms specs/schema/mapping.schema.json"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from . import expression_properties


def main(path: str) -> None:
    target = Path(path)
    schema = json.loads(target.read_text(encoding="utf-8"))
    schema["$defs"]["expression"]["properties"] = expression_properties()
    target.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
