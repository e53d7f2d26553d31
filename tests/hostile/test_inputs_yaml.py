"""Hostile YAML: alias bombs, deep nesting, huge files, bytes that are not UTF-8, syntax and tags."""

from __future__ import annotations

import time
from pathlib import Path

from inputs_support import (  # noqa: F401
    STUDY_END,
    Case,
    append,
    both,
    check,
    inputs_project,
    mini_output,
    params,
    put,
    study_line,
    sub,
)

STUDY_YAML = "mappings/MINI/study.yaml"
AE_YAML = "mappings/MINI/sdtm/ae.yaml"


def _laughs(levels: int = 9, width: int = 10, indent: str = "") -> str:
    """Nested anchors: level k holds ``width`` references to level k-1 (width**levels leaves)."""
    lines = [f'{indent}lol0: &l0 ["lol"]']
    for k in range(1, levels):
        refs = ", ".join([f"*l{k - 1}"] * width)
        lines.append(f"{indent}lol{k}: &l{k} [{refs}]")
    return "\n".join(lines) + "\n"


def _keys_bomb() -> str:
    items = ["  - &k0 [STUDYID, USUBJID]"]
    for k in range(1, 8):
        items.append(f"  - &k{k} [{', '.join([f'*k{k - 1}'] * 10)}]")
    return "keys:\n" + "\n".join(items) + "\n"


def _nested(depth: int) -> str:
    return "x: " + "[" * depth + "]" * depth + "\n"


def _not_created(path: str):
    def check_absent(root: Path) -> None:
        assert not Path(path).exists(), f"{path} was created"

    return check_absent


CASES = [
    Case("alias-bomb-study-yaml", append("study.yaml", _laughs()), (STUDY_YAML, "aliases expand", "alias bomb")),
    Case(
        "alias-bomb-under-keys",
        sub("sdtm/ae.yaml", "keys: [STUDYID, USUBJID, AEDECOD, AESTDTC]\n", _keys_bomb()),
        (f"{AE_YAML}:", "aliases expand"),
        process=True,
    ),
    Case(
        "alias-bomb-in-a-variable-comment",
        sub("sdtm/ae.yaml", "variables:\n", "x-anchors:\n" + _laughs(indent="  ") + "variables:\n"),
        (f"{AE_YAML}:", "aliases expand"),
    ),
    Case("recursive-alias", append("study.yaml", "loop: &me [*me]\n"), (STUDY_YAML, "recursive alias")),
    Case("nested-100-levels", append("study.yaml", _nested(100)), (STUDY_YAML, "nested deeper than 64")),
    Case("nested-5000-levels", append("sdtm/ae.yaml", _nested(5000)), (AE_YAML, "nested deeper than 64")),
    Case(
        "file-over-5-mb", append("study.yaml", "# " + "x" * (5 * 1024 * 1024) + "\n"), (STUDY_YAML, "larger than 5 MB")
    ),
    Case(
        "latin-1-byte-in-study-yaml",
        lambda root: (root / STUDY_YAML).write_bytes(
            (root / STUDY_YAML).read_bytes().replace(b"Interleukin-12", b"Interleuk\xefn-12")
        ),
        (f"{STUDY_YAML}:{study_line('  title:')}", "byte 0xef", "not UTF-8"),
    ),
    Case(
        "latin-1-byte-in-a-mapping-comment",
        lambda root: (root / AE_YAML).write_bytes(b"# \xe9v\xe9nements\n" + (root / AE_YAML).read_bytes()),
        (f"{AE_YAML}:1", "byte 0xe9", "not UTF-8"),
    ),
    Case(
        "utf-16-study-yaml",
        lambda root: (root / STUDY_YAML).write_bytes((root / STUDY_YAML).read_text().encode("utf-16")),
        (f"{STUDY_YAML}:1", "not UTF-8"),
    ),
    Case(
        "binary-garbage-mapping",
        put("sdtm/ae.yaml", bytes(range(256)) * 4),
        (f"{AE_YAML}:2", "byte 0x80", "not UTF-8"),
    ),
    Case(
        "tab-indentation",
        sub("sdtm/dm.yaml", "  SITEID:", "\tSITEID:"),
        ("mappings/MINI/sdtm/dm.yaml:7", "YAML syntax"),
    ),
    Case(
        "unclosed-quote",
        sub("study.yaml", 'protocol: "NCI protocol 84"', 'protocol: "NCI protocol 84'),
        (STUDY_YAML, "YAML syntax"),
    ),
    Case(
        "unclosed-flow-bracket",
        sub("sdtm/ae.yaml", "keys: [STUDYID, USUBJID, AEDECOD, AESTDTC]", "keys: [STUDYID, USUBJID"),
        (f"{AE_YAML}:", "YAML syntax"),
    ),
    Case(
        "control-character",
        sub("study.yaml", "National Cancer", "National\x07Cancer"),
        (f"{STUDY_YAML}:{study_line('  sponsor:')}", "U+0007"),
    ),
    Case("nul-byte", sub("sdtm/ae.yaml", "domain: AE", "domain: A\x00E"), (f"{AE_YAML}:2", "U+0000")),
    Case("list-as-key", append("study.yaml", "? [a, b]\n: c\n"), (STUDY_YAML, "a key must be a plain value")),
    Case("top-level-list", put("study.yaml", "- study\n- sources\n"), (f"{STUDY_YAML}:1", "should be an object")),
    Case("empty-study-yaml", put("study.yaml", ""), (f"{STUDY_YAML}:1", "missing required key")),
    Case(
        "misspelt-top-key",
        sub("study.yaml", "\nsources:", "\nsoruces:"),
        (f"{STUDY_YAML}:{study_line('sources:')}", "unknown key 'soruces' (did you mean 'sources'?)"),
    ),
    Case(
        "python-object-tag",
        sub(
            "study.yaml",
            'protocol: "NCI protocol 84"',
            'protocol: !!python/object/apply:os.system ["touch /tmp/sdtmify-pwned"]',
        ),
        (f"{STUDY_YAML}:{study_line('  protocol:')}", "could not determine a constructor"),
        extra=_not_created("/tmp/sdtmify-pwned"),
    ),
    Case(
        "two-documents",
        append("study.yaml", "---\nstudy: {studyid: X}\n"),
        (f"{STUDY_YAML}:{STUDY_END + 1}", "another document"),
    ),
    Case("infinity-as-studyid", sub("study.yaml", "studyid: MINI", "studyid: .inf"), (STUDY_YAML, "study.studyid")),
    Case(
        "mapping-as-studyid",
        sub("study.yaml", "studyid: MINI", "studyid: {a: 1}"),
        (f"{STUDY_YAML}:{study_line('  studyid:')}", "studyid"),
    ),
    Case(
        "merge-key-of-a-scalar",
        sub("sdtm/ae.yaml", "variables:\n", "base: &b text\nvariables:\n  <<: *b\n"),
        (f"{AE_YAML}:", "expected a mapping"),
    ),
    Case(
        "binary-tag-constant",
        sub("sdtm/dm.yaml", "COUNTRY: {constant: USA", "COUNTRY: {constant: !!binary aGVsbG8="),
        ("mappings/MINI/sdtm/dm.yaml:12", "COUNTRY"),
    ),
    Case("comment-only-mapping", put("sdtm/ae.yaml", "# nothing yet\n"), (f"{AE_YAML}:1", "missing required key")),
    Case(
        "anchor-reused-across-keys-within-limits-still-checked-by-schema",
        sub("sdtm/ae.yaml", "variables:\n", "extra: &e {a: 1}\nvariables:\n"),
        (f"{AE_YAML}:", "unknown key 'extra'"),
    ),
]


@params(CASES)
def test_hostile_yaml(inputs_project, mini_output, case):  # noqa: F811
    check(inputs_project, mini_output, case)


def test_an_alias_bomb_is_refused_in_under_a_second(tmp_path):
    from sdtmify import yamlio
    from sdtmify.errors import MappingError

    path = tmp_path / "mappings" / "X" / "bomb.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(_laughs(levels=12))  # 10**11 leaves once expanded
    start = time.perf_counter()
    try:
        yamlio.load_yaml(path)
    except MappingError as error:
        assert str(error).startswith("mappings/X/bomb.yaml:")
    else:
        raise AssertionError("the alias bomb was loaded")
    assert time.perf_counter() - start < 1.0


def test_aliases_within_the_limit_still_load(tmp_path):
    from sdtmify import yamlio

    path = tmp_path / "ok.yaml"
    path.write_text(_laughs(levels=4, width=10))  # 1,110 nodes from aliases
    assert yamlio.load_yaml(path)["lol3"][0][0][0] == ["lol"]
