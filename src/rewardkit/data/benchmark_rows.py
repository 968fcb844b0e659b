"""Read the public reward-model benchmarks in their native row formats as N-way preference rows.

- RewardBench 2 (Malik et al. 2025, arXiv 2506.01937; hub `allenai/reward-bench-2`): `id, prompt, chosen: [str],
  rejected: [str], num_correct, subset`. Ties rows come in pairs `ref:N` (one correct answer) and `tied:N` (several).
- RM-Bench (Liu et al. 2024, arXiv 2410.16184; hub `THU-KEG/RM-Bench`): `id, prompt, domain, chosen: [3], rejected:
  [3]`, the three being the concise, detailed plain-text and detailed markdown versions of one answer.
- JudgeBench (Tan et al. 2024, arXiv 2410.12784; hub `ScalerLab/JudgeBench`): `pair_id, source, question,
  response_A, response_B, label` with label "A>B" or "B>A".

Every source kind the pairwise readers take works here (JSONL, a JSON list as RM-Bench ships it, Parquet, a saved
or Hub dataset); a bad row raises a DataError naming file, line and field, or is skipped and counted.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rewardkit.data.errors import DataError, RowError, SkippedRow
from rewardkit.data.formats import DEFAULT_MAX_CHARS, parse_prompt
from rewardkit.data.readers import open_rows
from rewardkit.data.schema import NWayPreference, PreferencePair
from rewardkit.protocol import Prompt

logger = logging.getLogger(__name__)

TIES_SUBSET = "ties"
TIES_ID = re.compile(r"^(ref|tied):(\d+)$")
RMBENCH_STYLES = ("concise", "detailed plain", "detailed markdown")
RMBENCH_DOMAINS = ("chat", "math", "code", "safety")
JUDGEBENCH_LABELS = ("A>B", "B>A")
JUDGEBENCH_CATEGORIES = {
    "mmlu-pro": "knowledge",
    "livebench-reasoning": "reasoning",
    "livebench-math": "math",
    "livecodebench": "coding",
}
OTHER_CATEGORY = "other"


@dataclass
class BenchmarkRows:
    """The rows read from one source and the rows skipped (with reasons) under on_error='skip'."""

    source: str
    rows: list[NWayPreference] = field(default_factory=list)
    skipped: list[SkippedRow] = field(default_factory=list)

    def summary(self) -> str:
        head = f"{self.source}: read {len(self.rows):,} row(s), skipped {len(self.skipped):,}"
        return f"{head}; first skipped: {self.skipped[0].describe()}" if self.skipped else head


def read_benchmark_rows(
    source: str | Path,
    benchmark: str,
    *,
    on_error: Literal["raise", "skip"] = "raise",
    split: str = "train",
    limit: int | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> BenchmarkRows:
    """Rows of `benchmark` ("rewardbench2", "rm-bench" or "judgebench") from a file, dataset dir or Hub name."""
    if benchmark not in ROW_CONVERTERS:
        raise ValueError(f"no native reader for benchmark {benchmark!r}; one of {sorted(ROW_CONVERTERS)}")
    convert = ROW_CONVERTERS[benchmark]
    raws, unit = open_rows(source, split)
    result = BenchmarkRows(source=str(source))
    first_line_of: dict[str, int] = {}
    for raw in raws:
        if limit is not None and len(result.rows) >= limit:
            break
        try:
            if raw.error is not None:
                raise raw.error
            row = convert(raw.record, max_chars)
            _check_unique_id(row.id, raw.number, unit, first_line_of)
            result.rows.append(row)
        except RowError as error:
            located = DataError.from_row_error(result.source, raw.number, unit, error)
            if on_error == "raise":
                raise located from None
            result.skipped.append(located.as_skipped())
    return _checked(result)


def _checked(result: BenchmarkRows) -> BenchmarkRows:
    if result.skipped:
        logger.warning("%s", result.summary())
    if not result.rows:
        reason = f"has no readable rows ({result.summary()})" if result.skipped else "has no rows"
        raise DataError(result.source, reason, hint="Check that it is the benchmark's file in its native format.")
    return result


def _check_unique_id(row_id: str, number: int, unit: str, first_line_of: dict[str, int]) -> None:
    first = first_line_of.setdefault(row_id, number)
    if first != number:
        raise RowError("id", f"{row_id!r} repeats the id of {unit} {first}", "Every row needs its own id.")


def rewardbench2_row(record: Any, max_chars: int = DEFAULT_MAX_CHARS) -> NWayPreference:
    """One RewardBench 2 row; Ties rows must be `ref:N` or `tied:N` (scored per prompt N), tied ones with 2+ chosen."""
    fields = _mapping(record, "id, prompt, chosen, rejected, num_correct, subset")
    row_id, subset = _text(fields, "id", allow_int=True), _text(fields, "subset")
    chosen = _texts(fields, "chosen", max_chars)
    _check_num_correct(fields.get("num_correct"), len(chosen))
    group = row_id
    if subset.lower() == TIES_SUBSET:
        group = _ties_prompt_id(row_id, len(chosen))
    return NWayPreference(
        id=row_id,
        prompt=_prompt(fields, "prompt", max_chars),
        chosen=chosen,
        rejected=_texts(fields, "rejected", max_chars),
        subset=subset,
        domain=subset,
        group=group,
        extra=_extras(fields, ("id", "prompt", "chosen", "rejected", "num_correct", "subset")),
    )


def rmbench_row(record: Any, max_chars: int = DEFAULT_MAX_CHARS) -> NWayPreference:
    """One RM-Bench row: three chosen and three rejected styles; `subset` keeps the upstream domain (e.g.
    safety-refuse) and `domain` the group it is scored in (chat, math, code or safety, by prefix as upstream)."""
    fields = _mapping(record, "id, prompt, domain, chosen, rejected")
    upstream_domain = _text(fields, "domain")
    domain = next((name for name in RMBENCH_DOMAINS if upstream_domain.startswith(name)), None)
    if domain is None:
        raise RowError("domain", f"is {upstream_domain!r}; RM-Bench domains start with one of {RMBENCH_DOMAINS}")
    styles = len(RMBENCH_STYLES)
    extra = _extras(fields, ("id", "prompt", "domain", "chosen", "rejected", "subset"))
    if isinstance(fields.get("subset"), str):
        extra["upstream_subset"] = fields["subset"]
    return NWayPreference(
        id=_text(fields, "id", allow_int=True),
        prompt=_prompt(fields, "prompt", max_chars),
        chosen=_texts(fields, "chosen", max_chars, exactly=styles),
        rejected=_texts(fields, "rejected", max_chars, exactly=styles),
        subset=upstream_domain,
        domain=domain,
        extra=extra,
    )


def judgebench_row(record: Any, max_chars: int = DEFAULT_MAX_CHARS) -> NWayPreference:
    """One JudgeBench pair: the label's winner is chosen; `chosen_first` records whether it was response_A."""
    fields = _mapping(record, "pair_id, source, question, response_A, response_B, label")
    label = _text(fields, "label")
    if label not in JUDGEBENCH_LABELS:
        raise RowError("label", f"is {label!r}, expected one of {JUDGEBENCH_LABELS}")
    response_a, response_b = (_response(fields, name, max_chars) for name in ("response_A", "response_B"))
    source = _text(fields, "source")
    a_wins = label == "A>B"
    return NWayPreference(
        id=_text(fields, "pair_id", allow_int=True),
        prompt=_prompt(fields, "question", max_chars),
        chosen=[response_a if a_wins else response_b],
        rejected=[response_b if a_wins else response_a],
        subset=source,
        domain=judgebench_category(source),
        chosen_first=a_wins,
        extra=_extras(fields, ("pair_id", "source", "question", "response_A", "response_B", "label")),
    )


def judgebench_category(source: str) -> str:
    """knowledge (mmlu-pro-*), reasoning, math, coding, as JudgeBench's run_judge.py groups sources by prefix."""
    return next((name for prefix, name in JUDGEBENCH_CATEGORIES.items() if source.startswith(prefix)), OTHER_CATEGORY)


ROW_CONVERTERS: dict[str, Callable[[Any, int], NWayPreference]] = {
    "rewardbench2": rewardbench2_row,
    "rm-bench": rmbench_row,
    "judgebench": judgebench_row,
}


def _mapping(record: Any, expected: str) -> Mapping[str, Any]:
    if not isinstance(record, Mapping):
        raise RowError(None, f"is a {type(record).__name__}, expected an object with fields {expected}")
    return record


def _require(fields: Mapping[str, Any], name: str) -> Any:
    if fields.get(name) is None:
        present = ", ".join(sorted(fields)) or "none"
        raise RowError(name, f"is missing (the row has: {present})", "Is this file in the benchmark's own format?")
    return fields[name]


def _wrong_type(name: str, value: Any, expected: str) -> RowError:
    preview = repr(value)
    preview = preview if len(preview) <= 40 else preview[:37] + "..."
    return RowError(name, f"is {type(value).__name__} ({preview}), expected {expected}")


def _text(fields: Mapping[str, Any], name: str, allow_int: bool = False) -> str:
    value = _require(fields, name)
    if allow_int and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value.strip():
        raise _wrong_type(name, value, "a non-empty string" + (" or an integer" if allow_int else ""))
    return value


def _checked_size(name: str, text: str, max_chars: int) -> str:
    if len(text) > max_chars:
        hint = f"If such long text is intended, raise the limit (CLI: --max-chars {len(text)})."
        raise RowError(name, f"has {len(text):,} characters, above max_chars={max_chars:,}", hint)
    return text


def _response(fields: Mapping[str, Any], name: str, max_chars: int) -> str:
    return _checked_size(name, _text(fields, name), max_chars)


def _prompt(fields: Mapping[str, Any], name: str, max_chars: int) -> Prompt:
    try:
        prompt = parse_prompt(_require(fields, name))
    except RowError as error:
        raise RowError(name, error.reason, error.hint) from None
    size = len(prompt) if isinstance(prompt, str) else sum(len(message["content"]) for message in prompt)
    if size > max_chars:
        hint = f"If such a long prompt is intended, raise the limit (CLI: --max-chars {size})."
        raise RowError(name, f"has {size:,} characters, above max_chars={max_chars:,}", hint)
    return prompt


def _texts(fields: Mapping[str, Any], name: str, max_chars: int, exactly: int | None = None) -> list[str]:
    """A non-empty list of non-empty strings (of length `exactly`, when given); Arrow may hand over a tuple."""
    value = _require(fields, name)
    if not isinstance(value, (list, tuple)) or not value:
        raise _wrong_type(name, value, "a non-empty list of response strings")
    if exactly is not None and len(value) != exactly:
        raise RowError(name, f"has {len(value)} responses, expected {exactly}")
    for position, text in enumerate(value, start=1):
        if not isinstance(text, str) or not text.strip():
            raise RowError(name, f"response {position} is {type(text).__name__} ({text!r:.40}), expected a string")
        _checked_size(name, text, max_chars)
    return list(value)


def _check_num_correct(value: Any, chosen: int) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise _wrong_type("num_correct", value, "an integer")
    if value != chosen:
        raise RowError("num_correct", f"is {value} but 'chosen' holds {chosen} response(s); they must agree")


def _ties_prompt_id(row_id: str, chosen: int) -> str:
    match = TIES_ID.match(row_id)
    if match is None:
        raise RowError("id", f"is {row_id!r}; Ties rows are named 'ref:N' or 'tied:N' (N: the prompt they share)")
    kind, prompt_id = match.groups()
    if kind == "tied" and chosen < 2:
        raise RowError("chosen", f"holds {chosen} response; a Ties 'tied:N' row has several correct answers")
    return prompt_id


def _extras(fields: Mapping[str, Any], known: tuple[str, ...]) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if key not in known and value is not None}


REWARDBENCH_HUB = ("allenai/reward-bench", "filtered")
REWARDBENCH_SECTIONS = {
    "chat": ("alpacaeval-easy", "alpacaeval-length", "alpacaeval-hard", "mt-bench-easy", "mt-bench-med"),
    "chat_hard": (
        "mt-bench-hard",
        "llmbar-natural",
        "llmbar-adver-neighbor",
        "llmbar-adver-GPTInst",
        "llmbar-adver-GPTOut",
        "llmbar-adver-manual",
    ),
    "safety": (
        "refusals-dangerous",
        "refusals-offensive",
        "xstest-should-refuse",
        "xstest-should-respond",
        "donotanswer",
    ),
    "reasoning": ("math-prm", "hep-cpp", "hep-go", "hep-java", "hep-js", "hep-python", "hep-rust"),
}


def with_rewardbench_sections(pairs: list[PreferencePair]) -> list[PreferencePair]:
    """RewardBench (v1) Hub rows carry a subset but no section: name it from the benchmark's own subset mapping
    (`rewardbench/constants.py:SUBSET_MAPPING`); subsets outside it keep their category."""
    section_of = {subset: section for section, subsets in REWARDBENCH_SECTIONS.items() for subset in subsets}
    for pair in pairs:
        pair.category = section_of.get(pair.subset, pair.category)
    return pairs
