"""examples/github-actions.yml: valid YAML, the jobs issue 15 asks for, and only commands, flags and
JSON fields our CLI really has (each command's --help, and the outputs of a real run, update and check)."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fake_openai import ChapterResponder, FakeServer
from lessons import KEY, cli, make_lesson

WORKFLOW = Path(__file__).parents[1] / "examples" / "github-actions.yml"


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text())
    return data


def steps(workflow: dict[str, Any], job: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = workflow["jobs"][job]["steps"]
    return found


def scripts(workflow: dict[str, Any]) -> Iterator[str]:
    for job in workflow["jobs"].values():
        for step in job.get("steps", []):
            if "run" in step:
                yield step["run"]


def lessongen_calls(workflow: dict[str, Any]) -> list[list[str]]:
    """Every `lessongen ...` command line of the workflow's scripts, split as the shell splits it."""
    calls = []
    for script in scripts(workflow):
        for line in script.splitlines():
            line = line.strip().removeprefix("if ").split(" > ")[0].split(" || ")[0].split(";")[0]
            if line.startswith("lessongen "):
                calls.append(shlex.split(line))
    return calls


def test_the_triggers_and_jobs(workflow: dict[str, Any]) -> None:
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert triggers["push"]["branches"] == ["main"]
    assert "pull_request" in triggers
    jobs = workflow["jobs"]
    assert jobs["check"]["if"] == "github.event_name == 'pull_request'"
    assert jobs["lesson"]["if"] == "github.event_name != 'pull_request'"
    assert jobs["pages"]["needs"] == "lesson"
    assert any(s.get("uses", "").startswith("actions/deploy-pages@") for s in steps(workflow, "pages"))
    assert jobs["pages"]["permissions"] == {"pages": "write", "id-token": "write"}
    assert workflow["permissions"] == {"contents": "read"}


def test_the_lesson_and_its_state_are_kept_between_runs(workflow: dict[str, Any]) -> None:
    lesson = steps(workflow, "lesson")
    restore = [s for s in lesson if s.get("uses", "").startswith("actions/cache/restore@")]
    save = [s for s in lesson if s.get("uses", "").startswith("actions/cache/save@")]
    assert len(restore) == len(save) == 1
    # The whole folder: lesson/.lessongen/ (the record of each chapter, the journal) comes with it.
    assert restore[0]["with"]["path"] == save[0]["with"]["path"] == "lesson"
    assert save[0]["if"] == "always()"  # a stopped update keeps its paid answers for the next push
    prefix = restore[0]["with"]["restore-keys"]
    assert save[0]["with"]["key"].startswith(prefix)
    check = steps(workflow, "check")
    pr_restore = next(s for s in check if s.get("uses", "").startswith("actions/cache/restore@"))
    assert pr_restore["with"]["restore-keys"] == prefix and pr_restore["with"]["path"] == "lesson"
    order = [s.get("name", s.get("uses")) for s in lesson]
    assert (
        order.index("Restore the lesson") < order.index("Update the lesson") < order.index("Save the lesson")
    )


def test_check_on_pull_requests_update_on_main_and_the_web_lesson_published(workflow: dict[str, Any]) -> None:
    pr = [c for c in lessongen_calls({"jobs": {"check": workflow["jobs"]["check"]}})]
    main = [c for c in lessongen_calls({"jobs": {"lesson": workflow["jobs"]["lesson"]}})]
    assert [c[:2] for c in pr] == [["lessongen", "check"]]
    assert "--json" in pr[0]
    assert ["lessongen", "run", ".", "--update"] in [c[:4] for c in main]
    assert ["lessongen", "render"] in [c[:2] for c in main]
    pages = next(s for s in steps(workflow, "lesson") if s.get("uses", "").startswith("actions/upload-pages"))
    assert pages["with"]["path"] == "lesson/site/"
    summaries = [s for s in scripts(workflow) if "$GITHUB_STEP_SUMMARY" in s]
    assert any("lesson/run.json" in s and ".totals.cost_usd" in s for s in summaries)  # what it cost
    assert any("check.json" in s and ".counts.moved" in s for s in summaries)  # what changed


def test_every_command_and_flag_exists(workflow: dict[str, Any], tmp_path: Path) -> None:
    calls = lessongen_calls(workflow)
    assert len(calls) >= 4
    for call in calls:
        code, out, err = cli([call[1], "--help"], tmp_path / "cache", COLUMNS="200")
        assert code == 0, (call, err)
        for flag in (word for word in call[2:] if word.startswith("--")):
            assert re.search(rf"(^|[\s,/]){re.escape(flag)}([\s,/=]|$)", out, re.MULTILINE), (call[1], flag)


def _fields(program: str) -> set[tuple[str, ...]]:
    """The field paths a jq program reads: `.totals.cost_usd`, `.counts["file missing"]`."""
    program = re.sub(r'\["([^"]+)"\]', lambda m: "." + m.group(1).replace(" ", "\0"), program)
    paths = re.findall(r"(?<![\w$)\]])((?:\.[A-Za-z_\0][\w\0]*)+)", program)
    return {tuple(part.replace("\0", " ") for part in p.split(".")[1:]) for p in paths}


def _resolves(path: tuple[str, ...], documents: list[Any]) -> bool:
    """Whether `path` leads to a value from some object inside the documents (jq steps into arrays)."""

    def objects(value: Any) -> Iterator[dict[str, Any]]:
        if isinstance(value, dict):
            yield value
            for item in value.values():
                yield from objects(item)
        elif isinstance(value, list):
            for item in value:
                yield from objects(item)

    def follows(value: Any, rest: tuple[str, ...]) -> bool:
        if not rest:
            return True
        if isinstance(value, list):
            return any(follows(item, rest) for item in value)
        return isinstance(value, dict) and rest[0] in value and follows(value[rest[0]], rest[1:])

    return any(follows(obj, path) for doc in documents for obj in objects(doc))


def test_the_summaries_read_fields_our_outputs_have(workflow: dict[str, Any], tmp_path: Path) -> None:
    repo, lesson, code = make_lesson(tmp_path, ChapterResponder())
    assert code == 0
    module = repo / "pkg" / "mod1.py"
    module.write_text(module.read_text().replace("return w * h * 1\n", "return w * h * 1.5\n"))
    cache = tmp_path / "cache"
    with FakeServer(responder=ChapterResponder()) as server:
        common = ["--base-url", server.base_url, "--output", str(lesson), "--max-batch-tokens", "800"]
        code, plan, err = cli(["plan", str(repo), "--update", "--json", *common], cache, OPENAI_API_KEY=KEY)
        assert code == 0, err
        code, _, err = cli(["run", str(repo), "--update", *common], cache, OPENAI_API_KEY=KEY)
        assert code == 0, err
    code, check, err = cli(["check", str(lesson), "--repo", str(repo), "--json"], cache)
    assert code == 0, err
    module = repo / "pkg" / "mod2.py"
    module.write_text("# moved down\n" + module.read_text())
    code, stale, err = cli(["check", str(lesson), "--repo", str(repo), "--json"], cache)
    assert code == 8, err  # a moved anchor: the report says where it is now
    run = json.loads((lesson / "run.json").read_text())
    assert run["update"]["regenerated"]  # the summary's update line has something to read
    documents = [json.loads(plan), run, json.loads(check), json.loads(stale)]
    programs = re.findall(r"jq -r '(.*?)'", "\n".join(scripts(workflow)), re.DOTALL)
    assert len(programs) >= 5
    fields = set().union(*map(_fields, programs))
    assert ("counts", "file missing") in fields and ("totals", "cost_usd") in fields
    missing = sorted(".".join(path) for path in fields if not _resolves(path, documents))
    assert not missing, f"the workflow reads fields no output of ours has: {missing}"
