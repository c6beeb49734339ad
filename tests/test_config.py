from pathlib import Path

import pytest

from lessongen.config.fields import Secret
from lessongen.config.groups import KEYS
from lessongen.config.settings import resolve_settings
from lessongen.errors import UsageError


def test_precedence_defaults_file_env_flags(tmp_path: Path) -> None:
    assert resolve_settings(tmp_path, {}, {}).history.keep_recent == 0
    (tmp_path / "lessongen.toml").write_text("keep_recent = 2\nmodel = 'gpt-4o'\nreply_tokens = 900\n")
    settings = resolve_settings(tmp_path, {}, {})
    assert (settings.history.keep_recent, settings.model.name, settings.history.reply_tokens) == (
        2,
        "gpt-4o",
        900,
    )
    env = {"LESSONGEN_KEEP_RECENT": "3", "LESSONGEN_MODEL": "gpt-4.1"}
    settings = resolve_settings(tmp_path, {}, env)
    assert (settings.history.keep_recent, settings.model.name, settings.history.reply_tokens) == (
        3,
        "gpt-4.1",
        900,
    )
    settings = resolve_settings(tmp_path, {"keep_recent": 4}, env)
    assert (settings.history.keep_recent, settings.model.name) == (4, "gpt-4.1")


def test_pyproject_tool_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname='x'\n[tool.lessongen]\nexclude = ['docs/']\n")
    assert resolve_settings(tmp_path, {}, {}).walk.exclude == ("docs/",)


def test_lessongen_toml_wins_over_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.lessongen]\nmodel = 'gpt-4o'\n")
    (tmp_path / "lessongen.toml").write_text("model = 'o3'\n")
    assert resolve_settings(tmp_path, {}, {}).model.name == "o3"


def test_openai_env_and_lessongen_env(tmp_path: Path) -> None:
    env = {"OPENAI_API_KEY": "sk-test-value", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    settings = resolve_settings(tmp_path, {}, env)
    assert settings.model.api_key == Secret("sk-test-value")
    assert settings.model.base_url == "http://127.0.0.1:9/v1"
    assert "sk-test-value" not in repr(settings)
    env["LESSONGEN_BASE_URL"] = "http://127.0.0.1:10/v1"
    assert resolve_settings(tmp_path, {}, env).model.base_url == "http://127.0.0.1:10/v1"


def test_model_tables_in_config(tmp_path: Path) -> None:
    (tmp_path / "lessongen.toml").write_text(
        'model = "my-llm"\n[models."my-llm"]\ncontext_window = 8192\ninput_price = 0.1\n'
    )
    settings = resolve_settings(tmp_path, {}, {})
    assert settings.model.overrides["my-llm"].context_window == 8192


@pytest.mark.parametrize(
    ("toml", "needle"),
    [
        ("keep_recent = 'many'", "invalid keep_recent in lessongen.toml: expected a whole number"),
        ("summary_threshold = 1.5", "invalid summary_threshold"),
        ("modle = 'gpt-4o'", "unknown setting 'modle'"),
        ("[models.x]\nwindow = 5", "unknown key 'window'"),
        ("keep_recent = ", "not valid TOML"),
    ],
)
def test_invalid_config_is_one_clear_line(tmp_path: Path, toml: str, needle: str) -> None:
    (tmp_path / "lessongen.toml").write_text(toml + "\n")
    with pytest.raises(UsageError) as caught:
        resolve_settings(tmp_path, {}, {})
    assert needle in caught.value.one_line()
    assert "\n" not in caught.value.one_line()


def test_invalid_env_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="LESSONGEN_MAX_COST"):
        resolve_settings(tmp_path, {}, {"LESSONGEN_MAX_COST": "lots"})


def test_api_key_never_in_error(tmp_path: Path) -> None:
    (tmp_path / "lessongen.toml").write_text("api_key = ''\n")
    with pytest.raises(UsageError) as caught:
        resolve_settings(tmp_path, {}, {})
    assert "***" in caught.value.one_line()


def test_bad_repository_paths(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        resolve_settings(tmp_path / "nope", {}, {})
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(UsageError, match="is a file"):
        resolve_settings(tmp_path / "file.txt", {}, {})


def test_every_setting_is_documented_in_the_example() -> None:
    example = (Path(__file__).parents[1] / "examples" / "lessongen.toml").read_text()
    for name in KEYS:
        assert f"{name} =" in example or f"# {name} =" in example, name
