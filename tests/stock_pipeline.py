"""What a TRL / reward-bench / OpenRLHF user computes with plain transformers: the chat template's text for the whole
conversation, right-padded, through AutoModelForSequenceClassification (the reward at the last non-pad token)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch


def conversation(prompt: str, response: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}]


def stock_rewards(directory: str | Path, prompts: Sequence[str], responses: Sequence[str]) -> list[float]:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(directory)
    model = AutoModelForSequenceClassification.from_pretrained(directory, dtype=torch.float32).eval()
    texts = [
        tokenizer.apply_chat_template(conversation(prompt, response), tokenize=False)
        for prompt, response in zip(prompts, responses, strict=True)
    ]
    batch = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    with torch.inference_mode():
        return model(**batch).logits[:, 0].tolist()
