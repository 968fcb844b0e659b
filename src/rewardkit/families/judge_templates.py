"""Judge prompt templates as data: catalogs of name -> JudgeTemplate, extended per judge from YAML files.

Built-in templates follow MT-Bench's judge prompts (Zheng et al. 2023, arXiv 2306.05685, appendix: pairwise with
`[[A]]`/`[[B]]`/`[[C]]`, single-answer grading with `Rating: [[N]]`, reference-guided math grading) and
Prometheus-style rubric grading (Kim et al. 2023, arXiv 2310.08491: a score rubric with a description per level).
The user text names its fields in braces: {question}, {answer_a}, {answer_b} (pairwise), {answer} (pointwise),
{rubric} and {reference} (optional); literal braces are written doubled, as in Python format strings.
"""

from __future__ import annotations

import dataclasses
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import yaml
from transformers import PreTrainedTokenizerBase

from rewardkit.models.chat import as_messages, render_prompt
from rewardkit.protocol import Message, Prompt

TemplateKind = Literal["pairwise", "pointwise"]
REQUIRED_FIELDS: dict[str, frozenset[str]] = {
    "pairwise": frozenset({"question", "answer_a", "answer_b"}),
    "pointwise": frozenset({"question", "answer"}),
}
OPTIONAL_FIELDS = frozenset({"rubric", "reference"})


class TemplateError(ValueError):
    """A judge template that cannot be used as written."""


@dataclass(frozen=True)
class JudgeTemplate:
    """One judge prompt: texts with named fields, and how its verdict is written and read."""

    name: str
    kind: TemplateKind
    system: str
    user: str
    verdict_pattern: str
    verdicts: tuple[str, ...]
    verdict_prefix: str = "[["
    verdict_suffix: str = "]]"
    rationale_first: bool = True
    tie_verdict: str | None = None
    rubric: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        validate_template(self)

    @property
    def fields(self) -> frozenset[str]:
        """The {named} fields the user text asks for."""
        return frozenset(name for _, name, _, _ in string.Formatter().parse(self.user) if name)

    @property
    def needs_reference(self) -> bool:
        return "reference" in self.fields

    @property
    def candidate_verdicts(self) -> tuple[str, ...]:
        """Every verdict a judgement can end in (ties included): the candidate tokens of logprob mode."""
        return self.verdicts + ((self.tie_verdict,) if self.tie_verdict else ())

    def verdict_value(self, verdict: str) -> float:
        """Pairwise: P(first answer better) the verdict stands for (1, 0, tie 0.5). Pointwise: the rating."""
        if self.kind == "pointwise":
            return float(verdict)
        return {self.verdicts[0]: 1.0, self.verdicts[1]: 0.0}.get(verdict, 0.5)


def _check(condition: bool, template_name: str, field: str, problem: str) -> None:
    if not condition:
        raise TemplateError(f"judge template {template_name!r}, field {field!r}: {problem}")


def validate_template(template: JudgeTemplate) -> None:
    """Raise TemplateError naming the template and field when a template cannot work."""
    name = template.name
    _check(bool(name), "<unnamed>", "name", "must be a non-empty string")
    _check(template.kind in REQUIRED_FIELDS, name, "kind", f"must be 'pairwise' or 'pointwise', got {template.kind!r}")
    try:
        fields = template.fields
    except ValueError as error:
        raise TemplateError(f"judge template {name!r}, field 'user': bad braces ({error}); write {{{{ }}}}") from error
    missing = REQUIRED_FIELDS[template.kind] - fields
    _check(not missing, name, "user", f"a {template.kind} template needs {{{'}, {'.join(sorted(missing))}}}")
    unknown = fields - REQUIRED_FIELDS[template.kind] - OPTIONAL_FIELDS
    _check(
        not unknown, name, "user", f"unknown fields {sorted(unknown)}; allowed: question, answer(s), rubric, reference"
    )
    _validate_verdicts(template)


def _validate_verdicts(template: JudgeTemplate) -> None:
    name = template.name
    try:
        pattern = re.compile(template.verdict_pattern)
    except re.error as error:
        raise TemplateError(f"judge template {name!r}, field 'verdict_pattern': invalid regex ({error})") from error
    _check(pattern.groups == 1, name, "verdict_pattern", "needs exactly one capture group (the verdict)")
    _check(len(set(template.candidate_verdicts)) == len(template.candidate_verdicts), name, "verdicts", "repeated")
    if template.kind == "pairwise":
        _check(len(template.verdicts) == 2, name, "verdicts", "pairwise needs [first-better, second-better]")
    else:
        _check(all(v.isdigit() for v in template.verdicts), name, "verdicts", "pointwise verdicts are integer ratings")
        _check(template.tie_verdict is None, name, "tie_verdict", "pointwise templates have no tie verdict")
    for verdict in template.candidate_verdicts:
        written = template.verdict_prefix + verdict + template.verdict_suffix
        match = pattern.search(written)
        _check(match is not None and match.group(1) == verdict, name, "verdict_pattern", f"must read {written!r}")


PAIRWISE_USER = (
    "[User Question]\n{question}\n\n"
    "[The Start of Assistant A's Answer]\n{answer_a}\n[The End of Assistant A's Answer]\n\n"
    "[The Start of Assistant B's Answer]\n{answer_b}\n[The End of Assistant B's Answer]"
)
PAIRWISE_PATTERN = r"\[\[([ABC])\]\]"
RATING_PATTERN = r"\[\[(\d+)\]\]"
HELPFULNESS_RUBRIC_1_5 = (
    "How helpful, correct and complete is the response for the user's request?\n"
    "Score 1: The response is irrelevant, wrong or harmful.\n"
    "Score 2: The response addresses the request but is mostly wrong or unhelpful.\n"
    "Score 3: The response is partly correct and helpful, with notable gaps or errors.\n"
    "Score 4: The response is correct and helpful, with minor omissions.\n"
    "Score 5: The response is fully correct, complete and clearly written."
)

BUILTIN_TEMPLATE_LIST = (
    JudgeTemplate(
        name="pairwise",
        kind="pairwise",
        description="MT-Bench-style pairwise comparison; rationale, then [[A]], [[B]] or [[C]] (tie).",
        system=(
            "You are an impartial judge. Compare the answers two AI assistants gave to the user question below "
            "and decide which answers it better, considering helpfulness, relevance, accuracy, depth and detail. "
            "Do not let the order of the answers, their length or the assistants' names influence you. First "
            "explain the comparison briefly and objectively. Then write the final verdict on the last line, in "
            "this format: [[A]] if assistant A is better, [[B]] if assistant B is better, [[C]] for a tie."
        ),
        user=PAIRWISE_USER,
        verdict_pattern=PAIRWISE_PATTERN,
        verdicts=("A", "B"),
        tie_verdict="C",
    ),
    JudgeTemplate(
        name="pairwise-direct",
        kind="pairwise",
        description="Pairwise verdict only, no rationale and no tie: the direct GenRM prompt for logprob mode.",
        system=(
            "You are an impartial judge. Decide which of two AI assistant answers to the user question is better "
            "(helpful, correct, relevant). Ignore the order and the length of the answers. Reply with the "
            "verdict only: [[A]] if assistant A is better, [[B]] if assistant B is better."
        ),
        user=PAIRWISE_USER,
        verdict_pattern=r"\[\[([AB])\]\]",
        verdicts=("A", "B"),
        rationale_first=False,
    ),
    JudgeTemplate(
        name="pointwise-1-10",
        kind="pointwise",
        description="MT-Bench-style single-answer grading on 1-10; rationale, then 'Rating: [[N]]'.",
        system=(
            "You are an impartial judge. Rate the quality of the AI assistant's answer to the user question "
            "below, considering helpfulness, relevance, accuracy, depth and detail. First explain your assessment "
            "briefly and objectively. Then rate the answer from 1 to 10 on the last line, in this format: "
            "Rating: [[N]]"
        ),
        user="[Question]\n{question}\n\n[The Start of Assistant's Answer]\n{answer}\n[The End of Assistant's Answer]",
        verdict_pattern=RATING_PATTERN,
        verdicts=tuple(str(rating) for rating in range(1, 11)),
        verdict_prefix="Rating: [[",
    ),
    JudgeTemplate(
        name="pointwise-1-5",
        kind="pointwise",
        description="Prometheus-style rubric grading on 1-5: feedback against the rubric, then 'Rating: [[N]]'.",
        system="You are a fair judge who grades responses strictly against the score rubric you are given.",
        user=(
            "###Task: Write feedback that assesses the response strictly by the score rubric, then give an "
            "integer score from 1 to 5 on the last line, in this format: Rating: [[N]]\n\n"
            "###Instruction:\n{question}\n\n###Response to evaluate:\n{answer}\n\n###Score rubric:\n{rubric}"
        ),
        verdict_pattern=RATING_PATTERN,
        verdicts=tuple(str(rating) for rating in range(1, 6)),
        verdict_prefix="Rating: [[",
        rubric=HELPFULNESS_RUBRIC_1_5,
    ),
    JudgeTemplate(
        name="reference-pairwise",
        kind="pairwise",
        description="MT-Bench reference-guided pairwise grading for math/code: compare both against a reference.",
        system=(
            "You are an impartial judge. Compare the answers two AI assistants gave to the user question below. "
            "A reference answer is provided: check each assistant's answer against it, find and correct their "
            "mistakes, and prefer the answer that is correct. Do not let the order or the length of the answers "
            "influence you. First explain briefly. Then write the final verdict on the last line, in this "
            "format: [[A]] if assistant A is better, [[B]] if assistant B is better, [[C]] for a tie."
        ),
        user=(
            "[User Question]\n{question}\n\n"
            "[The Start of Reference Answer]\n{reference}\n[The End of Reference Answer]\n\n"
            "[The Start of Assistant A's Answer]\n{answer_a}\n[The End of Assistant A's Answer]\n\n"
            "[The Start of Assistant B's Answer]\n{answer_b}\n[The End of Assistant B's Answer]"
        ),
        verdict_pattern=PAIRWISE_PATTERN,
        verdicts=("A", "B"),
        tie_verdict="C",
    ),
    JudgeTemplate(
        name="reference-pointwise",
        kind="pointwise",
        description="MT-Bench reference-guided single-answer grading (math/code) on 1-10.",
        system=(
            "You are an impartial judge. Rate the AI assistant's answer to the user question below for "
            "correctness and helpfulness. A reference answer is provided: compare the assistant's answer with "
            "it and identify its mistakes. First explain briefly. Then rate the answer from 1 to 10 on the last "
            "line, in this format: Rating: [[N]]"
        ),
        user=(
            "[Question]\n{question}\n\n[The Start of Reference Answer]\n{reference}\n[The End of Reference Answer]"
            "\n\n[The Start of Assistant's Answer]\n{answer}\n[The End of Assistant's Answer]"
        ),
        verdict_pattern=RATING_PATTERN,
        verdicts=tuple(str(rating) for rating in range(1, 11)),
        verdict_prefix="Rating: [[",
    ),
)

TEMPLATE_FIELDS = tuple(field.name for field in dataclasses.fields(JudgeTemplate))


@dataclass(frozen=True)
class TemplateCatalog:
    """Judge templates by name. Each judge resolves names in its own catalog (the built-ins, plus what its template
    files add), so loading a file for one judge never changes the templates of another in the same process."""

    templates: Mapping[str, JudgeTemplate]

    def names(self) -> list[str]:
        return sorted(self.templates)

    def get(self, name: str) -> JudgeTemplate:
        """The template called `name`, or a TemplateError listing the names there are."""
        if name not in self.templates:
            raise TemplateError(f"Unknown judge template {name!r}: choose one of {', '.join(self.names())}")
        return self.templates[name]

    def resolve(self, template: str | JudgeTemplate) -> JudgeTemplate:
        """A template object as given, or the one of that name."""
        return template if isinstance(template, JudgeTemplate) else self.get(template)

    def with_templates(self, templates: Sequence[JudgeTemplate]) -> TemplateCatalog:
        """A new catalog: this one with `templates` added (a template replaces the one of its name)."""
        return TemplateCatalog(MappingProxyType({**self.templates, **{item.name: item for item in templates}}))

    def with_file(self, path: str | Path) -> TemplateCatalog:
        """A new catalog: this one with the templates of a YAML file added (see `load_template_file`)."""
        return self.with_templates(load_template_file(path, self))


BUILTIN_TEMPLATES = TemplateCatalog(MappingProxyType({template.name: template for template in BUILTIN_TEMPLATE_LIST}))


def get_template(name: str) -> JudgeTemplate:
    """The built-in template called `name`."""
    return BUILTIN_TEMPLATES.get(name)


def template_from_mapping(
    entry: Mapping[str, Any], where: str, catalog: TemplateCatalog = BUILTIN_TEMPLATES
) -> JudgeTemplate:
    """A template from a YAML/JSON mapping; fields left out come from `extends` (default: the template of the same
    name in `catalog`)."""
    if not isinstance(entry, Mapping):
        raise TemplateError(f"{where}: a template must be a mapping of fields, got {type(entry).__name__}")
    unknown = set(entry) - set(TEMPLATE_FIELDS) - {"extends"}
    if unknown:
        raise TemplateError(f"{where}: unknown fields {sorted(unknown)}; allowed: {', '.join(TEMPLATE_FIELDS)}")
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        raise TemplateError(f"{where}: field 'name' is required (a non-empty string)")
    values = {key: value for key, value in entry.items() if key != "extends"}
    if "verdicts" in values:
        values["verdicts"] = tuple(str(verdict) for verdict in values["verdicts"])
    base_name = entry.get("extends", name)
    try:
        if base_name in catalog.templates:
            return dataclasses.replace(catalog.templates[base_name], **values)
        return JudgeTemplate(**values)
    except TypeError as error:
        raise TemplateError(f"{where}: template {name!r} is missing fields ({error})") from error
    except TemplateError as error:
        raise TemplateError(f"{where}: {error}") from error


def load_template_file(path: str | Path, catalog: TemplateCatalog = BUILTIN_TEMPLATES) -> list[JudgeTemplate]:
    """Read templates from YAML (one mapping, or `templates:` holding a list); `extends` resolves in `catalog`.
    Nothing is registered: pass the result to `TemplateCatalog.with_templates` (or use `with_file`)."""
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as error:
        raise TemplateError(f"{path}: cannot read the template file ({error.strerror})") from error
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise TemplateError(f"{path}{line}: invalid YAML ({getattr(error, 'problem', error)})") from error
    entries = document.get("templates", [document]) if isinstance(document, dict) else document
    if not isinstance(entries, list) or not entries:
        raise TemplateError(f"{path}: expected a template mapping or `templates:` with a non-empty list")
    return [
        template_from_mapping(entry, f"{path} (template #{index + 1})", catalog) for index, entry in enumerate(entries)
    ]


def question_text(prompt: Prompt) -> str:
    """The judged conversation as text: a lone user turn as is, longer conversations as a labelled transcript."""
    messages = as_messages(prompt)
    if len(messages) == 1:
        return messages[0]["content"]
    return "\n\n".join(f"{message['role'].capitalize()}: {message['content']}" for message in messages)


def template_messages(template: JudgeTemplate, **fields: str) -> list[Message]:
    """System and user messages with the template's fields filled in (rubric defaults to the template's)."""
    values = {"rubric": template.rubric, **fields}
    missing = sorted(name for name in template.fields if values.get(name) is None)
    if missing:
        raise TemplateError(f"judge template {template.name!r} needs values for {missing}")
    user = template.user.format_map({name: values[name] for name in template.fields})
    system = [{"role": "system", "content": template.system}] if template.system else []
    return system + [{"role": "user", "content": user}]


def render_judge_prompt(
    tokenizer: PreTrainedTokenizerBase, template: JudgeTemplate, verdict_next: bool = False, **fields: str
) -> str:
    """The judge prompt through the tokenizer's chat template; `verdict_next` ends it where the verdict token goes."""
    text = render_prompt(tokenizer, template_messages(template, **fields))
    return text + template.verdict_prefix if verdict_next else text
