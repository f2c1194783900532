"""`ask` and `chat` as a person sees them in a real terminal (a pseudo-terminal), and what is printed
when checking the citations changes an answer."""
import os
import pty
import select
import subprocess
import sys
import time


def in_terminal(args: list[str], store, lines: tuple[str, ...] = (), timeout: float = 240.0) -> str:
    """Run `digestqa ARGS` attached to a pseudo-terminal, typing `lines` at each `you>` prompt."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGESTQA_")} | {"DIGESTQA_STORE": str(store)}
    pid, fd = pty.fork()
    if pid == 0:  # the child: stdin, stdout and stderr are the terminal
        os.execve(sys.executable, [sys.executable, "-m", "assistant", *args], env)
    out, pending, deadline = b"", list(lines), time.monotonic() + timeout
    # poll, not select: by now the test process may hold over 1,024 descriptors (chromadb keeps every
    # store it opened, one per fixture), and select() cannot watch a descriptor numbered that high.
    watch = select.poll()
    watch.register(fd, select.POLLIN)
    while time.monotonic() < deadline:
        ready = watch.poll(200)
        if ready:
            try:
                data = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            out += data
        if pending and out.rstrip().endswith(b"you>") and out.count(b"you>") == len(lines) - len(pending) + 1:
            os.write(fd, (pending.pop(0) + "\n").encode())
    os.waitpid(pid, 0)
    os.close(fd)
    return out.decode(errors="replace").replace("\r\n", "\n")


def test_ask_in_a_terminal_prints_the_answer_once(fixture_app):
    shown = in_terminal(["ask", "How much memory does KVSqueeze save?"], fixture_app.settings.store)
    answer = fixture_app.ask("How much memory does KVSqueeze save?").text
    assert answer.splitlines()[0] in shown
    assert shown.count(answer.splitlines()[0]) == 1
    assert "checking the citations" not in shown and "Sources:" in shown


def test_chat_in_a_terminal_prompts_once_per_question(fixture_app):
    shown = in_terminal(["chat"], fixture_app.settings.store, ("How much memory does KVSqueeze save?", "/quit"))
    prompts = [line for line in shown.splitlines() if line.startswith("you>")]
    assert prompts == ["you> How much memory does KVSqueeze save?", "you> /quit"]


def test_piped_chat_echoes_each_question_and_ends_on_no_empty_prompt(fixture_app):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGESTQA_")} | {
        "DIGESTQA_STORE": str(fixture_app.settings.store)}
    done = subprocess.run([sys.executable, "-m", "assistant", "chat"], input="How much memory does KVSqueeze save?\n\n",
                          capture_output=True, text=True, env=env, timeout=240)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert lines[0] == "you> How much memory does KVSqueeze save?"
    assert "KVSqueeze" in lines[1] and not any(line.strip() == "you>" for line in lines)
