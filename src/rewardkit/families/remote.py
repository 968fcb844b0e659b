"""A reward model on a rewardkit server, behind the same RewardModel protocol: spec `remote:http://host:port`.

So evaluation, Best-of-N, ensembles and the integrations can use a model served on another machine (a GPU box)
exactly as a local one: its capabilities and tie credit are the served model's (read once from /info; references do
not travel over HTTP). Requests go in chunks of `chunk_size` items; the server's error message is raised as is.
"""

from __future__ import annotations

import functools
import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

from rewardkit.protocol import Capabilities, Preference, Prompt, Score, UnsupportedOperation

DEFAULT_TIMEOUT_S = 600.0
DEFAULT_CHUNK_SIZE = 64


class RemoteRewardModel:
    """Client of `rewardkit serve`: `score` posts to /score, `compare` to /compare."""

    def __init__(self, url: str, timeout_s: float = DEFAULT_TIMEOUT_S, chunk_size: int = DEFAULT_CHUNK_SIZE) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"remote reward model URL must start with http:// or https://, got {url!r}")
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self.chunk_size = chunk_size
        self.name = f"remote:{self.url}"

    @functools.cached_property
    def _served(self) -> dict[str, Any]:
        """The server's /info: the served model's capabilities and tie credit."""
        return self._post("/info")

    @property
    def capabilities(self) -> Capabilities:
        served = self._served.get("capabilities", {})
        return Capabilities(score=served.get("score", True), compare=served.get("compare", True))

    @property
    def tie_credit(self) -> float:
        return float(self._served.get("tie_credit", 0.0))

    def _post(self, route: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """POST `payload` to `route` (GET when there is none) and return the JSON answer."""
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(self.url + route, data=data, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")
            try:
                detail = json.loads(detail).get("detail", detail)
            except (json.JSONDecodeError, AttributeError):
                pass
            exception = UnsupportedOperation if error.code == 501 else ValueError
            raise exception(f"{self.url}{route} answered {error.code}: {detail}") from error
        except urllib.error.URLError as error:
            raise OSError(f"cannot reach the reward server at {self.url}: {error.reason}") from error

    def _chunks(self, count: int) -> range:
        return range(0, count, self.chunk_size)

    def score(self, prompts: Sequence[Prompt], responses: Sequence[str]) -> list[Score]:
        scores: list[Score] = []
        for start in self._chunks(len(responses)):
            end = start + self.chunk_size
            answer = self._post(
                "/score", {"prompts": list(prompts[start:end]), "responses": list(responses[start:end])}
            )
            texts = answer.get("texts") or [None] * len(answer["scores"])
            scores += [Score(value, text) for value, text in zip(answer["scores"], texts, strict=True)]
        return scores

    def compare(
        self, prompts: Sequence[Prompt], responses_a: Sequence[str], responses_b: Sequence[str]
    ) -> list[Preference]:
        preferences: list[Preference] = []
        for start in self._chunks(len(responses_a)):
            end = start + self.chunk_size
            payload = {
                "prompts": list(prompts[start:end]),
                "responses_a": list(responses_a[start:end]),
                "responses_b": list(responses_b[start:end]),
            }
            answer = self._post("/compare", payload)
            rationales = answer.get("rationales") or [None] * len(answer["p_a_better"])
            preferences += [Preference(p, r) for p, r in zip(answer["p_a_better"], rationales, strict=True)]
        return preferences


def load_remote(url: str) -> RemoteRewardModel:
    """Registry loader of `remote:URL`."""
    if not url:
        raise ValueError("spec `remote` needs a URL: remote:http://host:port")
    return RemoteRewardModel(url)
