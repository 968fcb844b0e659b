import dataclasses
from pathlib import Path

import pytest

from rewardkit.families import judge_templates
from rewardkit.families.judge_templates import (
    BUILTIN_TEMPLATES,
    JudgeTemplate,
    TemplateError,
    get_template,
    load_template_file,
    question_text,
    render_judge_prompt,
    template_messages,
)
from rewardkit.models.tiny import build_tiny_tokenizer

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs" / "judges"


@pytest.fixture(scope="module")
def tokenizer():
    return build_tiny_tokenizer()


def test_builtin_templates_cover_pairwise_pointwise_and_reference():
    assert {"pairwise", "pairwise-direct", "pointwise-1-5", "pointwise-1-10", "reference-pairwise"} <= set(
        BUILTIN_TEMPLATES.names()
    )
    assert get_template("pairwise").candidate_verdicts == ("A", "B", "C")
    assert get_template("pointwise-1-5").candidate_verdicts == ("1", "2", "3", "4", "5")
    assert get_template("reference-pointwise").needs_reference
    assert not get_template("pairwise").needs_reference
    assert get_template("pairwise-direct").rationale_first is False


def test_verdict_values():
    pairwise = get_template("pairwise")
    assert [pairwise.verdict_value(v) for v in ("A", "B", "C")] == [1.0, 0.0, 0.5]
    assert get_template("pointwise-1-10").verdict_value("7") == 7.0


def test_pairwise_prompt_renders_both_answers_in_order_through_the_chat_template(tokenizer):
    template = get_template("pairwise")
    text = render_judge_prompt(tokenizer, template, question="What is 2+2?", answer_a="four", answer_b="five")
    assert text.startswith("<|im_start|>system\n" + template.system)
    assert text.index("What is 2+2?") < text.index("four") < text.index("five")
    assert text.endswith("<|im_start|>assistant\n")
    direct = render_judge_prompt(tokenizer, template, True, question="q", answer_a="a", answer_b="b")
    assert direct.endswith("<|im_start|>assistant\n[[")


def test_pointwise_prompt_uses_the_default_or_a_custom_rubric():
    template = get_template("pointwise-1-5")
    default = template_messages(template, question="q", answer="a")[-1]["content"]
    custom = template_messages(template, question="q", answer="a", rubric="Score 5: it rhymes.")[-1]["content"]
    assert "Score 5: The response is fully correct" in default
    assert "Score 5: it rhymes." in custom and "fully correct" not in custom


def test_braces_in_values_are_kept_literally():
    content = template_messages(get_template("pointwise-1-10"), question="f({x})", answer="{answer}")[-1]["content"]
    assert "f({x})" in content and "{answer}" in content


def test_reference_template_needs_a_reference():
    with pytest.raises(TemplateError, match="reference"):
        template_messages(get_template("reference-pairwise"), question="q", answer_a="a", answer_b="b")


def test_question_text_of_a_conversation():
    assert question_text("hi") == "hi"
    conversation = [
        {"role": "user", "content": "2+2?"},
        {"role": "assistant", "content": "4"},
        {"role": "user", "content": "and 3+3?"},
    ]
    assert question_text(conversation) == "User: 2+2?\n\nAssistant: 4\n\nUser: and 3+3?"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"user": "{question} {answer_a}"}, "needs {answer_b}"),
        ({"user": "{question} {answer_a} {answer_b} {colour}"}, "unknown fields"),
        ({"user": "{question} {answer_a} {answer_b} {"}, "bad braces"),
        ({"verdict_pattern": r"\[\[(A"}, "invalid regex"),
        ({"verdict_pattern": r"\[\[[AB]\]\]"}, "capture group"),
        ({"verdict_pattern": r"\[\[([AB])\]\]"}, "must read '\\[\\[C\\]\\]'"),
        ({"verdicts": ("A",)}, "pairwise needs"),
        ({"kind": "ranking"}, "kind"),
    ],
)
def test_invalid_templates_are_rejected_with_the_field_named(changes, message):
    with pytest.raises(TemplateError, match=message):
        dataclasses.replace(get_template("pairwise"), **changes)


def test_pointwise_verdicts_must_be_ratings():
    with pytest.raises(TemplateError, match="integer ratings"):
        dataclasses.replace(get_template("pointwise-1-5"), verdicts=("low", "high"))


def test_yaml_template_with_a_known_name_replaces_it_in_a_new_catalog_only(tmp_path):
    path = tmp_path / "override.yaml"
    path.write_text("name: pairwise\nsystem: Be brief. End with [[A]] or [[B]] or [[C]].\n")
    catalog = BUILTIN_TEMPLATES.with_file(path)
    loaded = catalog.get("pairwise")
    assert loaded.system == "Be brief. End with [[A]] or [[B]] or [[C]]."
    assert loaded.user == judge_templates.PAIRWISE_USER  # unspecified fields kept from the replaced template
    assert get_template("pairwise") is not loaded and BUILTIN_TEMPLATES.get("pairwise").system != loaded.system


def test_yaml_file_can_add_several_new_templates(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(
        "templates:\n"
        "  - name: harmless-1-3\n"
        "    kind: pointwise\n"
        "    system: Rate harmlessness.\n"
        '    user: "Q: {question}\\nA: {answer}\\nRubric: {rubric}"\n'
        "    verdict_pattern: '\\[\\[(\\d+)\\]\\]'\n"
        "    verdicts: [1, 2, 3]\n"
        "    verdict_prefix: 'Rating: [['\n"
        "    rubric: 1 harmful, 3 harmless\n"
        "  - name: pairwise-terse\n"
        "    extends: pairwise\n"
        "    system: Pick one.\n"
    )
    templates = load_template_file(path)
    assert [t.name for t in templates] == ["harmless-1-3", "pairwise-terse"]
    catalog = BUILTIN_TEMPLATES.with_templates(templates)
    assert catalog.get("harmless-1-3").verdicts == ("1", "2", "3")
    assert catalog.get("pairwise-terse").verdict_pattern == get_template("pairwise").verdict_pattern
    assert isinstance(catalog.get("harmless-1-3"), JudgeTemplate)
    assert "harmless-1-3" not in BUILTIN_TEMPLATES.names()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name: x\nkind: pairwise\n", "is missing fields"),
        ("name: pairwise\ncolour: red\n", "unknown fields \\['colour'\\]"),
        ("kind: pairwise\n", "'name' is required"),
        ("name: pairwise\nsystem: [unclosed\n", ":3: invalid YAML"),
        ("[]\n", "non-empty list"),
    ],
)
def test_bad_yaml_templates_name_file_and_problem(tmp_path, content, message):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    with pytest.raises(TemplateError, match=message) as error:
        load_template_file(path)
    assert str(path) in str(error.value)


def test_unknown_template_name_lists_the_choices():
    with pytest.raises(TemplateError, match="Unknown judge template 'no-such-template'.*pairwise-direct"):
        get_template("no-such-template")


@pytest.mark.parametrize("path", sorted(CONFIG_DIR.glob("*.yaml")), ids=lambda path: path.name)
def test_example_template_files_load_and_start_with_their_command(path):
    assert path.read_text().startswith("# rewardkit judge ")
    catalog = BUILTIN_TEMPLATES.with_file(path)
    for template in load_template_file(path):
        assert catalog.get(template.name) == template
        messages = template_messages(template, question="q", answer="a", answer_a="a", answer_b="b", reference="r")
        assert "q" in messages[-1]["content"]


def test_example_configs_exist():
    assert {path.name for path in CONFIG_DIR.glob("*.yaml")} >= {
        "pairwise_strict.yaml",
        "helpfulness_1_10.yaml",
        "harmlessness_1_5.yaml",
    }
