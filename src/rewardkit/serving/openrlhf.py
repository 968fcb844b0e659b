"""OpenRLHF's `/get_reward` queries as (prompt, response) pairs for the RewardModel protocol.

OpenRLHF sends each rollout as one decoded string, prompt then response (with the policy's chat template applied
when it uses `--apply_chat_template`), plus, in recent versions, the prompt strings. rewardkit models apply their
own chat template, so a ChatML prompt (`<|im_start|>role\\n...<|im_end|>`, the template of SmolLM2, Qwen and others)
is read back into chat messages, and end-of-turn markers are cut from the response; any other prompt is passed as
one user message, as written. Whitespace is never stripped: the same text gets the same reward on every route.

OpenRLHF cuts a prompt longer than its budget from the left before generating (`prompt_token_ids[-max_prompt_length:]`
in `SingleTurnAgentExecutor.execute`) but still sends the full `prompts[i]`, so the query then starts with a tail of
the prompt. The response is what follows the longest tail of the prompt that the query starts with; it is scored with
the full prompt, and a warning says so.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from rewardkit.protocol import Prompt

logger = logging.getLogger(__name__)

CHATML_TURN = re.compile(r"<\|im_start\|>(\w+)\n(.*?)(?:<\|im_end\|>|$)", re.DOTALL)
LEADING_ROLE = re.compile(r"(?:system|user|assistant|tool)\n.*<\|im_start\|>", re.DOTALL)
END_MARKERS = ("<|im_end|>", "<|endoftext|>", "<|eot_id|>", "</s>", "<|end|>")


def strip_end_markers(response: str) -> str:
    """The response without trailing end-of-turn / end-of-text markers (and the whitespace after them); all other
    whitespace is kept, so a response gets the same reward here as on `/score`."""
    text = response
    while (marker := next((m for m in END_MARKERS if text.rstrip().endswith(m)), None)) is not None:
        text = text.rstrip()[: -len(marker)]
    return text


def chatml_messages(text: str) -> list[dict[str, str]] | None:
    """The chat turns of a ChatML string, contents exactly as written, or None when it is not ChatML. An empty
    trailing assistant header (the generation prompt) is dropped."""
    if "<|im_start|>" not in text:
        return None
    messages = [{"role": role, "content": content} for role, content in CHATML_TURN.findall(text)]
    if messages and messages[-1]["role"] == "assistant" and not messages[-1]["content"]:
        messages.pop()
    return messages or None


def split_conversation(messages: Sequence[dict[str, str]], where: str) -> tuple[Prompt, str]:
    """(prompt messages, response) of a conversation that ends in the assistant turn to be scored."""
    if len(messages) < 2 or messages[-1]["role"] != "assistant":
        raise ValueError(
            f"{where}: a conversation to score needs a prompt and must end in the assistant response to score"
        )
    return list(messages[:-1]), strip_end_markers(messages[-1]["content"])


def split_chatml_text(text: str, where: str) -> tuple[Prompt, str]:
    """(prompt messages, response) of a chat-formatted text (the reward model's ChatML template applied).

    verl cuts the tokenizer's BOS from the text's start, and SmolLM2's BOS is `<|im_start|>`, so a text that starts
    with a bare role header (`system\n...`) gets it back."""
    if LEADING_ROLE.match(text):
        text = "<|im_start|>" + text
    messages = chatml_messages(text)
    if messages is None:
        raise ValueError(
            f"{where}: not a ChatML conversation (<|im_start|>role ... <|im_end|>); send chat `messages` instead"
        )
    return split_conversation(messages, where)


def as_prompt(prompt_text: str) -> Prompt:
    """A decoded prompt as rewardkit takes it: chat messages when it is ChatML, else the string itself."""
    return chatml_messages(prompt_text) or prompt_text


def prompt_overlap(prompt: str, query: str) -> int:
    """Length of the longest tail of `prompt` that `query` starts with (0 when none): the Knuth-Morris-Pratt prefix
    function of query-head + separator + prompt, read at its last position."""
    text = query[: len(prompt)] + "\0" + prompt
    border = [0] * len(text)
    for position in range(1, len(text)):
        length = border[position - 1]
        while length and text[position] != text[length]:
            length = border[length - 1]
        border[position] = length + (text[position] == text[length])
    return border[-1]


def response_after_truncated_prompt(index: int, query: str, prompt: str) -> str:
    """The response of a query whose prompt OpenRLHF cut from the left: what follows the kept tail of `prompt`
    (a character split by the token cut decodes as U+FFFD at the query's start and is skipped)."""
    query = query.lstrip("\ufffd")
    kept = prompt_overlap(prompt, query)
    if kept == 0:
        raise ValueError(
            f"query[{index}] does not start with prompts[{index}] nor with any tail of it (as after OpenRLHF's "
            "left truncation of a long prompt); send the exact prompt text"
        )
    logger.warning(
        "query[%d] starts with the last %d of %d characters of prompts[%d] (the client truncated a long prompt): "
        "scoring the full prompt with the response that follows",
        index,
        kept,
        len(prompt),
        index,
    )
    return query[kept:]


def split_query(index: int, query: str, prompt: str | None) -> tuple[Prompt, str]:
    """(prompt, response) of one query: the response is what follows `prompt` (or the tail of it that the query
    kept); without a prompt, a ChatML query's last assistant turn is the response."""
    if prompt is not None:
        if query.startswith(prompt):
            response = query[len(prompt) :]
        else:
            response = response_after_truncated_prompt(index, query, prompt)
        return as_prompt(prompt), strip_end_markers(response)
    messages = chatml_messages(query)
    if not messages or messages[-1]["role"] != "assistant" or len(messages) < 2:
        raise ValueError(
            f"query[{index}]: no `prompts` sent and the query is not a ChatML conversation ending in an assistant "
            "turn, so prompt and response cannot be told apart; send `prompts` (recent OpenRLHF versions do)"
        )
    return split_conversation(messages, f"query[{index}]")


def split_queries(queries: Sequence[str], prompts: Sequence[str] | None) -> tuple[list[Prompt], list[str]]:
    """The (prompt, response) of every query; the first that cannot be split raises, naming its index."""
    split = [
        split_query(index, query, None if prompts is None else prompts[index]) for index, query in enumerate(queries)
    ]
    return [prompt for prompt, _ in split], [response for _, response in split]
