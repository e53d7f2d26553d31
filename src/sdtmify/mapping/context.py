"""What an operation sees while one mapping file is applied: the rows, the variables so far, where it is."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from .. import yamlio
from ..errors import Location, MappingError
from ..study import Study
from .terminology import CTRecoder


@dataclass
class MappingContext:
    """One mapping file being applied.

    ``rows`` are the source rows (after filter/unpivot; str columns plus SRCROW), ``values`` the
    variables computed so far (same index), ``recodes`` what CT recoding used (for define.xml)."""

    study: Study
    file: str
    document: dict
    rows: pd.DataFrame
    source_name: str | None = None
    values: dict[str, pd.Series] = field(default_factory=dict)
    recodes: dict[str, dict] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    ct: CTRecoder | None = None
    # source columns as text (algorithms.base.source_text), each with the ``rows`` it was taken from
    texts: dict[str, tuple[pd.DataFrame, pd.Series]] = field(default_factory=dict, repr=False)

    def error(self, path, message: str) -> MappingError:
        """A MappingError located at ``path`` (keys from the document root)."""
        return MappingError(
            message, Location(self.file, yamlio.line_at(self.document, list(path)), yamlio.key_path(path) or None)
        )

    def restricted(self, mask: pd.Series) -> MappingContext:
        """The same context on the records where ``mask`` holds (a branch sees only its own rows)."""
        return MappingContext(
            study=self.study,
            file=self.file,
            document=self.document,
            rows=self.rows[mask],
            source_name=self.source_name,
            values={k: v[mask] for k, v in self.values.items()},
            recodes=self.recodes,
            notes=self.notes,
            ct=self.ct,
        )

    def row_numbers(self, mask: pd.Series, limit: int = 3) -> str:
        """'row 4, row 9' (1-based source data rows, as the lineage names them) for messages; in a domain
        stacked from several sources (``parts:``), each row with its table: "row 4 of 'labs_local'"."""
        if "SRCROW" not in self.rows:
            return ""
        picked = self.rows.loc[mask[mask].index].head(limit)
        if "SRCTABLE" in picked:
            return ", ".join(
                f"row {int(r)} of '{t}'" for r, t in zip(picked["SRCROW"], picked["SRCTABLE"], strict=False)
            )
        return ", ".join(f"row {int(r)}" for r in picked["SRCROW"])

    def column(self, name: str, path) -> pd.Series:
        """A source column, or a precise error naming the source and the closest column."""
        if name in self.rows.columns:
            return self.rows[name]
        choices = [c for c in self.rows.columns if c not in ("SRCROW", "SRCTABLE")]
        where = f"source '{self.source_name}'" if self.source_name else "the records"
        raise self.error(path, f"column '{name}' not in {where}{yamlio.suggest(name, choices)}")

    def variable(self, name: str, path) -> pd.Series:
        if name in self.values:
            return self.values[name]
        raise self.error(
            path,
            f"variable '{name}' is not computed before this point"
            f"{yamlio.suggest(name, self.values)}; define it earlier in 'variables:'",
        )
