"""A reward model on a server, behind the same RewardModel protocol: spec `remote:http://host:port[?api=...]`.

So evaluation, Best-of-N, ensembles and the integrations can use a model served on another machine (a GPU box)
exactly as a local one. Three server shapes are spoken:

- `rewardkit` (`rewardkit serve`): `/score` and `/compare`, in chunks of `chunk_size` items;
- `vllm` (vLLM's pooling API, `vllm serve RM --runner pooling`): `POST /classify` with one chat conversation per
  request (`messages`, `use_activation: false`), the reward read as `data[0].probs[-1]`, as verl reads it;
- `sglang` (SGLang with `--is-embedding`): `POST /v1/embeddings` with the chat-formatted text (the reward model's
  template, from `tokenizer=`), the reward read as `data[i].embedding[-1]`.

`api=auto` (the default) asks `GET /info` (only rewardkit answers it; it also gives the served model's capabilities
and tie credit; references do not travel over HTTP) and otherwise speaks vLLM's shape. Pairs are
compared as σ(r_a − r_b) on the vLLM/SGLang shapes. The server's error message is raised as is (501 as
UnsupportedOperation, 401/403 as PermissionError, other 4xx/5xx as ValueError); an API key in REWARDKIT_API_KEY is
sent as `Authorization: Bearer`.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from rewardkit.protocol import Capabilities, Preference, Prompt, Score, UnsupportedOperation, compare_by_scoring

DEFAULT_TIMEOUT_S = 600.0
DEFAULT_CHUNK_SIZE = 64
DEFAULT_CONCURRENCY = 8
API_SHAPES = ("auto", "rewardkit", "vllm", "sglang")
API_KEY_ENV = "REWARDKIT_API_KEY"


def _conversation(prompt: Prompt, response: str) -> list[dict[str, str]]:
    messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else [dict(m) for m in prompt]
    return messages + [{"role": "assistant", "content": response}]


class RemoteRewardModel:
    """Client of a reward server: rewardkit (`/score`, `/compare`), vLLM (`/classify`), SGLang (`/v1/embeddings`)."""

    def __init__(
        self,
        url: str,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        api: str = "auto",
        tokenizer: str | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"remote reward model URL must start with http:// or https://, got {url!r}")
        if api not in API_SHAPES:
            raise ValueError(f"remote: api={api!r} is not one of {', '.join(API_SHAPES)}")
        if api == "sglang" and tokenizer is None:
            raise ValueError(
                "remote: api=sglang needs the reward model's tokenizer (its chat template): &tokenizer=PATH"
            )
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self.chunk_size = chunk_size
        self.requested_api = api
        self.tokenizer_spec = tokenizer
        self.name = f"remote:{self.url}"

    def _request(self, route: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        if os.environ.get(API_KEY_ENV):
            headers["Authorization"] = f"Bearer {os.environ[API_KEY_ENV]}"
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(self.url + route, data=data, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")
            try:
                detail = json.loads(detail).get("detail", detail)
            except (json.JSONDecodeError, AttributeError):
                pass
            exception = {501: UnsupportedOperation, 401: PermissionError, 403: PermissionError}.get(
                error.code, ValueError
            )
            raise exception(f"{self.url}{route} answered {error.code}: {detail}") from error
        except urllib.error.URLError as error:
            raise OSError(f"cannot reach the reward server at {self.url}: {error.reason}") from error

    def _post(self, route: str, payload: dict[str, Any]) -> dict[str, Any]:
        return self._request(route, payload)

    @cached_property
    def _served(self) -> dict[str, Any]:
        """A rewardkit server's /info: the served model's capabilities and tie credit."""
        return self._request("/info")

    @cached_property
    def api(self) -> str:
        """The server's shape: as asked, or (auto) rewardkit when `GET /info` answers like rewardkit, else vLLM."""
        if self.requested_api != "auto":
            return self.requested_api
        try:
            info = self._served
        except ValueError:
            return "vllm"
        return "rewardkit" if isinstance(info, dict) and "batching" in info else "vllm"

    @property
    def capabilities(self) -> Capabilities:
        """The served model's (rewardkit); a vLLM or SGLang reward model scores, and compares by scoring."""
        if self.api != "rewardkit":
            return Capabilities()
        served = self._served.get("capabilities", {})
        return Capabilities(score=served.get("score", True), compare=served.get("compare", True))

    @property
    def tie_credit(self) -> float:
        return float(self._served.get("tie_credit", 0.0)) if self.api == "rewardkit" else 0.0

    @cached_property
    def served_model(self) -> str:
        """The model id the server lists first at `GET /v1/models` (vLLM and SGLang check it)."""
        return self._request("/v1/models")["data"][0]["id"]

    @cached_property
    def tokenizer(self):
        from rewardkit.models.loading import load_tokenizer

        return load_tokenizer(self.tokenizer_spec)

    def _chunks(self, count: int) -> range:
        return range(0, count, self.chunk_size)

    def score(self, prompts: Sequence[Prompt], responses: Sequence[str]) -> list[Score]:
        if self.api == "vllm":
            return self._score_each(prompts, responses, self._vllm_reward)
        if self.api == "sglang":
            return self._score_each(prompts, responses, self._sglang_reward)
        scores: list[Score] = []
        for start in self._chunks(len(responses)):
            end = start + self.chunk_size
            answer = self._post(
                "/score", {"prompts": list(prompts[start:end]), "responses": list(responses[start:end])}
            )
            texts = answer.get("texts") or [None] * len(answer["scores"])
            scores += [Score(value, text) for value, text in zip(answer["scores"], texts, strict=True)]
        return scores

    def _score_each(self, prompts: Sequence[Prompt], responses: Sequence[str], reward) -> list[Score]:
        """One request per (prompt, response), DEFAULT_CONCURRENCY at a time (the server batches them)."""
        with ThreadPoolExecutor(max_workers=DEFAULT_CONCURRENCY) as pool:
            return [Score(value) for value in pool.map(reward, prompts, responses)]

    def _vllm_reward(self, prompt: Prompt, response: str) -> float:
        payload = {"model": self.served_model, "messages": _conversation(prompt, response), "use_activation": False}
        return float(self._post("/classify", payload)["data"][0]["probs"][-1])

    def _sglang_reward(self, prompt: Prompt, response: str) -> float:
        text = self.tokenizer.apply_chat_template(_conversation(prompt, response), tokenize=False)
        bos = self.tokenizer.bos_token
        if bos and text.startswith(bos):  # the server's tokenizer adds it again
            text = text[len(bos) :]
        return float(
            self._post("/v1/embeddings", {"model": self.served_model, "input": text})["data"][0]["embedding"][-1]
        )

    def compare(
        self, prompts: Sequence[Prompt], responses_a: Sequence[str], responses_b: Sequence[str]
    ) -> list[Preference]:
        if self.api != "rewardkit":
            return compare_by_scoring(self.score, prompts, responses_a, responses_b)
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


def load_remote(spec: str) -> RemoteRewardModel:
    """Registry loader of `remote:URL`; `api=` and `tokenizer=` in the URL's query choose the shape and are not
    sent to the server."""
    if not spec:
        raise ValueError("spec `remote` needs a URL: remote:http://host:port")
    parts = urlsplit(spec)
    query = dict(parse_qsl(parts.query))
    options = {name: query.pop(name) for name in ("api", "tokenizer") if name in query}
    url = urlunsplit(parts._replace(query=urlencode(query)))
    return RemoteRewardModel(url, **options)
