from pathlib import Path

import pytest

from assistant.config import load_settings
from assistant.errors import ConfigError


def test_defaults_are_the_embedded_stack():
    settings = load_settings(env={})
    assert settings.store == Path("vectorstore") and not settings.uses_server and not settings.uses_llm


def test_environment_overrides_and_chroma_host_switches_to_server():
    settings = load_settings(env={"DIGESTQA_CHROMA_HOST": "127.0.0.1", "DIGESTQA_CHROMA_PORT": "9001",
                                  "DIGESTQA_TOP_K": "8"})
    assert settings.uses_server and settings.chroma_port == 9001 and settings.top_k == 8


def test_toml_file_then_env_then_overrides(tmp_path):
    config = tmp_path / "digestqa.toml"
    config.write_text('top_k = 3\nllm_model = "m1"\n')
    env = {"DIGESTQA_CONFIG": str(config), "DIGESTQA_LLM_MODEL": "m2"}
    settings = load_settings(env=env, top_k=9)
    assert settings.llm_model == "m2" and settings.top_k == 9


def test_presets_are_data_files():
    settings = load_settings(env={}, preset="ollama")
    assert settings.llm_base_url.endswith(":11434/v1") and settings.uses_llm


@pytest.mark.parametrize("env,message", [
    ({"DIGESTQA_TOP_K": "many"}, "must be a whole number"),
    ({"DIGESTQA_PRESET": "nope"}, "unknown preset"),
    ({"DIGESTQA_CONFIG": "/nonexistent.toml"}, "not found"),
])
def test_bad_configuration_is_a_clear_error(env, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(env=env)


def test_api_key_is_masked_in_public_settings():
    settings = load_settings(env={"OPENAI_API_KEY": "sk-secret-123"})
    assert "sk-secret" not in repr(settings) and "sk-secret" not in str(settings.public_dict())
