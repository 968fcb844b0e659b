"""One raw record (dict) -> PreferencePair, accepting TRL's preference formats.

Formats (TRL dataset-format guide, https://huggingface.co/docs/trl/dataset_formats#preference):
- explicit prompt: `prompt` + `chosen` + `rejected`; each a string, or (conversational) the prompt a list of
  `{role, content}` messages and chosen/rejected lists holding one assistant message;
- implicit prompt: only `chosen` and `rejected`, each a whole conversation; the prompt is their shared prefix and the
  responses are the final assistant turns (as TRL's `extract_prompt`). The string-only implicit form is ambiguous
  (where does the prompt end?) and is rejected with a clear error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from rewardkit.data.errors import RowError
from rewardkit.data.schema import PreferencePair
from rewardkit.protocol import Message, Prompt

# A size guard against broken files (a missing newline or quote swallowing the rest), not a limit on long responses:
# a reward model truncates long text by its own rule, so a response of a few megabytes is read as it is.
DEFAULT_MAX_CHARS = 16_000_000
# Chat records sit a few levels deep (a tool call's arguments about six); deeper nesting is a broken or hostile row,
# refused before anything recurses into it (Python's JSON parser itself stops near 1,000 levels).
MAX_NESTING_DEPTH = 64
CHAT_ROLES = ("system", "user", "assistant", "tool")
TEXT_FIELDS = ("subset", "category", "source", "label_kind")
SCHEMA_FIELDS = ("id", "prompt", "chosen", "rejected", *TEXT_FIELDS, "p_chosen")
RESPONSE_FIELDS = ("chosen", "rejected")
MAP_HINT = (
    "Map your column names onto ours with column_map={'your_column': 'chosen'} (CLI: --column-map your_column=chosen)."
)


def validate_column_map(column_map: Mapping[str, str] | None) -> dict[str, str]:
    """Check that a user column map {their_name: our_name} only targets schema fields, each at most once."""
    mapping = dict(column_map or {})
    unknown = sorted(target for target in mapping.values() if target not in SCHEMA_FIELDS)
    if unknown:
        raise ValueError(f"column_map targets unknown field(s) {unknown}; map onto one of {list(SCHEMA_FIELDS)}")
    targets = list(mapping.values())
    repeated = sorted({target for target in targets if targets.count(target) > 1})
    if repeated:
        raise ValueError(f"column_map maps several columns onto {repeated}; map exactly one column onto each field")
    return mapping


def rename_columns(record: Mapping[str, Any], column_map: Mapping[str, str]) -> dict[str, Any]:
    """The record with user column names replaced by ours; two columns landing on one name is an error."""
    renamed: dict[str, Any] = {}
    for key, value in record.items():
        target = column_map.get(key, key)
        if target in renamed:
            raise RowError(target, "is given twice (by the column map and by a column of that name)", MAP_HINT)
        renamed[target] = value
    return renamed


def record_to_pair(
    record: Any,
    *,
    default_id: str,
    column_map: Mapping[str, str] | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> PreferencePair:
    """Convert one record in any supported TRL preference format to a PreferencePair, or raise RowError.

    Fields outside the schema go to `extra`, except nulls (columnar formats pad absent fields with them).
    """
    if not isinstance(record, Mapping):
        raise RowError(None, f"is a {type(record).__name__}, expected an object with prompt/chosen/rejected fields")
    fields = rename_columns(record, column_map or {})
    prompt, chosen, rejected = split_prompt_and_responses(fields)
    _check_prompt_size(prompt, max_chars)
    for name, text in (("chosen", chosen), ("rejected", rejected)):
        _check_response_text(name, text, max_chars)
    if chosen == rejected:
        raise RowError("rejected", "is identical to 'chosen', so the row states no preference", "Drop or fix the row.")
    return PreferencePair(
        id=_parse_id(fields.get("id"), default_id),
        prompt=prompt,
        chosen=chosen,
        rejected=rejected,
        p_chosen=_parse_probability(fields.get("p_chosen")),
        extra={key: value for key, value in fields.items() if key not in SCHEMA_FIELDS and value is not None},
        **_parse_text_fields(fields),
    )


def check_nesting(record: Mapping[str, Any], limit: int = MAX_NESTING_DEPTH) -> None:
    """A RowError naming the first field nested deeper than `limit` (walked without recursion)."""
    for name, value in record.items():
        if nesting_depth_exceeds(value, limit - 1):
            raise RowError(
                name, f"nests deeper than {limit} levels", "Flatten the field; chat records need only a few levels."
            )


def nesting_depth_exceeds(value: Any, limit: int) -> bool:
    """True when lists/objects in `value` nest more than `limit` levels deep."""
    stack = [(value, 1)] if isinstance(value, (Mapping, list)) else []
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, Mapping) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, (Mapping, list)))
    return False


def pair_to_record(pair: PreferencePair) -> dict[str, Any]:
    """A flat JSON-ready record (extra fields at top level, no null p_chosen) that record_to_pair reads back."""
    record = {key: value for key, value in pair.to_dict().items() if key != "extra"}
    if record["p_chosen"] is None:
        del record["p_chosen"]
    clashing = sorted(set(pair.extra) & set(record))
    if clashing:
        raise ValueError(f"pair {pair.id!r}: extra fields {clashing} clash with schema fields; rename them")
    return {**record, **pair.extra}


def split_prompt_and_responses(fields: Mapping[str, Any]) -> tuple[Prompt, str, str]:
    """(prompt, chosen, rejected) from an explicit- or implicit-prompt record."""
    for name in RESPONSE_FIELDS:
        if fields.get(name) is None:
            raise _missing_field(name, fields)
    if fields.get("prompt") is None:
        return implicit_prompt(fields["chosen"], fields["rejected"], fields)
    prompt = parse_prompt(fields["prompt"])
    return prompt, parse_response("chosen", fields["chosen"]), parse_response("rejected", fields["rejected"])


def implicit_prompt(chosen: Any, rejected: Any, fields: Mapping[str, Any]) -> tuple[Prompt, str, str]:
    """Shared message prefix = prompt; final assistant turns = responses (TRL's implicit-prompt format)."""
    if isinstance(chosen, str) and isinstance(rejected, str):
        raise RowError(
            "prompt",
            "is missing and chosen/rejected are plain strings, so where the prompt ends is ambiguous",
            "Add a 'prompt' column (or map one with column_map, CLI: --column-map your_column=prompt), "
            "or give chosen/rejected as whole conversations of {role, content} messages.",
        )
    chosen_messages = parse_messages("chosen", chosen)
    rejected_messages = parse_messages("rejected", rejected)
    if chosen_messages == rejected_messages:
        raise RowError("rejected", "is identical to 'chosen', so the row states no preference", "Drop or fix the row.")
    shared = _shared_prefix_length(chosen_messages, rejected_messages)
    if shared == 0:
        raise _missing_field("prompt", fields, "chosen and rejected conversations share no leading messages")
    prompt = chosen_messages[:shared]
    return prompt, _final_turn("chosen", chosen_messages[shared:]), _final_turn("rejected", rejected_messages[shared:])


def parse_prompt(value: Any) -> Prompt:
    """A non-empty string or a non-empty list of {role, content} messages."""
    if isinstance(value, str):
        if not value.strip():
            raise RowError("prompt", "is empty or whitespace only", "Give every row a prompt.")
        return value
    if isinstance(value, list):
        return parse_messages("prompt", value)
    raise _wrong_type("prompt", value, "a string or a list of {role, content} messages")


def parse_response(name: str, value: Any) -> str:
    """A response string, or the content of a list holding exactly one assistant message."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return _final_turn(name, parse_messages(name, value))
    raise _wrong_type(name, value, "a string or a list with one {role: assistant, content} message")


def parse_messages(name: str, value: Any) -> list[Message]:
    """Validate a chat-message list; drops null keys (Arrow pads message structs with them)."""
    if not isinstance(value, list) or not value:
        raise _wrong_type(name, value, "a non-empty list of {role, content} messages")
    return [_parse_message(name, position, message) for position, message in enumerate(value, start=1)]


def _parse_message(name: str, position: int, message: Any) -> Message:
    if not isinstance(message, Mapping):
        raise _wrong_type(name, message, f"message {position} to be a {{role, content}} object")
    cleaned = {key: value for key, value in message.items() if value is not None}
    for key in ("role", "content"):
        if not isinstance(cleaned.get(key), str):
            raise RowError(name, f"message {position} has no string '{key}' (keys: {sorted(message)})")
    if cleaned["role"] not in CHAT_ROLES:
        raise RowError(
            name,
            f"message {position} has role {cleaned['role']!r}, expected one of {', '.join(CHAT_ROLES)}",
            "Rename the role (e.g. human -> user, gpt -> assistant).",
        )
    return cleaned


def _final_turn(name: str, messages: list[Message]) -> str:
    if len(messages) != 1 or messages[0]["role"] != "assistant":
        roles = [message["role"] for message in messages]
        raise RowError(
            name,
            f"should end in exactly one assistant message after the shared prompt, found roles {roles}",
            "Conversations may differ only in their final assistant turn.",
        )
    return messages[0]["content"]


def _shared_prefix_length(first: list[Message], second: list[Message]) -> int:
    shared = 0
    for message_a, message_b in zip(first, second, strict=False):
        if message_a != message_b:
            break
        shared += 1
    return shared


def _check_response_text(name: str, text: str, max_chars: int) -> None:
    if not text.strip():
        raise RowError(name, "is empty or whitespace only", "Every pair needs two non-empty responses.")
    _check_size(name, len(text), max_chars)


def _check_prompt_size(prompt: Prompt, max_chars: int) -> None:
    size = len(prompt) if isinstance(prompt, str) else sum(len(message["content"]) for message in prompt)
    _check_size("prompt", size, max_chars)


def _check_size(name: str, size: int, max_chars: int) -> None:
    if size > max_chars:
        raise RowError(
            name,
            f"has {size:,} characters, above max_chars={max_chars:,}",
            f"If such long text is intended, raise the limit: max_chars={size} (CLI: --max-chars {size}).",
        )


def _parse_id(value: Any, default_id: str) -> str:
    if value is None or value == "":
        return default_id
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _wrong_type("id", value, "a string or an integer")
    return str(value)


def _parse_text_fields(fields: Mapping[str, Any]) -> dict[str, str]:
    parsed = {}
    for name in TEXT_FIELDS:
        value = fields.get(name)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise _wrong_type(name, value, "a string")
        parsed[name] = value
    return parsed


def _parse_probability(value: Any) -> float | None:
    """p_chosen: a number in [0, 1]; numeric strings (CSV cells) are accepted, NaN/empty mean absent (pandas)."""
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise _wrong_type("p_chosen", value, "a number in [0, 1]") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _wrong_type("p_chosen", value, "a number in [0, 1]")
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise RowError("p_chosen", f"is {value}, outside [0, 1]", "It is the probability that chosen is better.")
    return float(value)


def _missing_field(name: str, fields: Mapping[str, Any], detail: str = "") -> RowError:
    present = ", ".join(sorted(fields)) or "none"
    reason = (
        f"is missing ({detail}; the row has fields: {present})" if detail else f"is missing (the row has: {present})"
    )
    return RowError(name, reason, f"Add it, or: {MAP_HINT}")


def _wrong_type(name: str, value: Any, expected: str) -> RowError:
    preview = repr(value)
    preview = preview if len(preview) <= 40 else preview[:37] + "..."
    return RowError(name, f"is {type(value).__name__} ({preview}), expected {expected}")
