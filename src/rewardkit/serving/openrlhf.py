"""OpenRLHF's `/get_reward` queries as (prompt, response) pairs for the RewardModel protocol.

OpenRLHF sends each rollout as one decoded string, prompt then response (with the policy's chat template applied
when it uses `--apply_chat_template`), plus, in recent versions, the prompt strings. rewardkit models apply their
own chat template, so a ChatML prompt (`<|im_start|>role\\n...<|im_end|>`, the template of SmolLM2, Qwen and others)
is read back into chat messages, and end-of-turn markers are cut from the response; any other prompt is passed as
one user message, as written.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rewardkit.protocol import Prompt

CHATML_TURN = re.compile(r"<\|im_start\|>(\w+)\n(.*?)(?:<\|im_end\|>|$)", re.DOTALL)
END_MARKERS = ("<|im_end|>", "<|endoftext|>", "<|eot_id|>", "</s>", "<|end|>")


def strip_end_markers(response: str) -> str:
    """The response without surrounding whitespace and trailing end-of-turn / end-of-text markers."""
    text = response.strip()
    stripped = True
    while stripped:
        stripped = False
        for marker in END_MARKERS:
            if text.endswith(marker):
                text = text[: -len(marker)].rstrip()
                stripped = True
    return text


def chatml_messages(text: str) -> list[dict[str, str]] | None:
    """The chat turns of a ChatML string, or None when it is not ChatML. An empty trailing assistant header (the
    generation prompt) is dropped."""
    if "<|im_start|>" not in text:
        return None
    messages = [{"role": role, "content": content.strip()} for role, content in CHATML_TURN.findall(text)]
    if messages and messages[-1]["role"] == "assistant" and not messages[-1]["content"]:
        messages.pop()
    return messages or None


def as_prompt(prompt_text: str) -> Prompt:
    """A decoded prompt as rewardkit takes it: chat messages when it is ChatML, else the string itself."""
    return chatml_messages(prompt_text) or prompt_text


def split_query(index: int, query: str, prompt: str | None) -> tuple[Prompt, str]:
    """(prompt, response) of one query: the response is what follows `prompt`; without a prompt, a ChatML query's
    last assistant turn is the response."""
    if prompt is not None:
        if not query.startswith(prompt):
            raise ValueError(f"query[{index}] does not start with prompts[{index}]; send the exact prompt text")
        return as_prompt(prompt), strip_end_markers(query[len(prompt) :])
    messages = chatml_messages(query)
    if not messages or messages[-1]["role"] != "assistant" or len(messages) < 2:
        raise ValueError(
            f"query[{index}]: no `prompts` sent and the query is not a ChatML conversation ending in an assistant "
            "turn, so prompt and response cannot be told apart; send `prompts` (recent OpenRLHF versions do)"
        )
    return messages[:-1], strip_end_markers(messages[-1]["content"])


def split_queries(queries: Sequence[str], prompts: Sequence[str] | None) -> tuple[list[Prompt], list[str]]:
    """The (prompt, response) of every query; the first that cannot be split raises, naming its index."""
    split = [
        split_query(index, query, None if prompts is None else prompts[index]) for index, query in enumerate(queries)
    ]
    return [prompt for prompt, _ in split], [response for _, response in split]
