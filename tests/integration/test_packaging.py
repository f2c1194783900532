"""A regular (non-editable) install must work on its own: prompts, the web UI, presets and the
sample digest travel inside the wheel, and every subpackage is listed in pyproject.toml."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]


def _declared_packages() -> list[str]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]


def test_every_subpackage_of_the_source_tree_is_declared():
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "assistant").rglob("*.py")
               if "__pycache__" not in p.parts and "sample_digests" not in p.parts}
    assert on_disk <= set(_declared_packages())


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for name in ("assistant", "prompts", "ui"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                            "--wheel-dir", str(out), str(src)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-2000:]
    [built] = out.glob("digestqa-*.whl")
    return built


def test_the_wheel_carries_prompts_ui_presets_and_sample(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for prompt in (ROOT / "prompts").glob("*.md"):
        assert f"assistant/bundled_prompts/{prompt.name}" in names
    for script in ("app.py", "frame.py", "views/chat.py", "views/briefing.py", "views/library.py", "views/evals.py"):
        assert f"assistant/bundled_ui/{script}" in names
    assert any(n.startswith("assistant/presets/") and n.endswith(".toml") for n in names)
    assert any(n.startswith("assistant/sample_digests/") and n.endswith(".md") for n in names)
    for data in (ROOT / "assistant" / "data").glob("*.toml"):  # aliases and category names for questions
        assert f"assistant/data/{data.name}" in names


def test_an_installed_wheel_finds_its_prompts_and_ui_without_the_source_tree(wheel, tmp_path):
    target = tmp_path / "site"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
                              str(wheel)], capture_output=True, text=True)
    assert install.returncode == 0, install.stderr[-2000:]
    probe = ("import assistant, assistant.prompts as p, assistant.cli.launch_ui as u;"
             "print(assistant.__file__); print(p.prompts_dir()); print(u.find_ui_script());"
             "print(len(p.load_prompt('answer_system')) > 100, p.prompts_hash() is not None)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGESTQA_")}
    env["PYTHONPATH"] = str(target)
    run = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    package, prompts, ui, checks = run.stdout.splitlines()
    assert Path(package).is_relative_to(target)
    assert Path(prompts) == target / "assistant" / "bundled_prompts"
    assert Path(ui) == target / "assistant" / "bundled_ui" / "app.py"
    assert checks == "True True"


def test_a_missing_prompt_is_a_clear_error(tmp_path, monkeypatch):
    from assistant.errors import ConfigError
    from assistant.prompts import load_prompt

    monkeypatch.setenv("DIGESTQA_PROMPTS_DIR", str(tmp_path))
    load_prompt.cache_clear()
    try:
        with pytest.raises(ConfigError, match="DIGESTQA_PROMPTS_DIR"):
            load_prompt("answer_system")
    finally:
        load_prompt.cache_clear()
