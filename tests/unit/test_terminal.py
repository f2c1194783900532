"""`ask` and `chat` as a person sees them in a real terminal (a pseudo-terminal), and what is printed
when checking the citations changes an answer."""

from assistant.cli.answer import _stream_to_terminal, changed_lines
from assistant.types import Answer, Citation


def _answer(text: str, unsupported: bool) -> Answer:
    citations = [Citation("Cuts memory by 73% [2601.90001].", ["2601.90001"], False,
                          "number(s) 73 not found in 2601.90001")] if unsupported else []
    return Answer(question="q", text=text, cited_ids=["2601.90001"], sources=[], refused=False, backend="llm:test",
                  timings={}, notices=[], removed_ids=[], citations=citations)


def test_a_verified_answer_equal_to_the_stream_is_not_printed_again(capsys):
    text = "KVSqueeze compresses the cache [2601.90001].\n\nIt keeps accuracy [2601.90001]."
    _stream_to_terminal(iter([text[:20], text[20:], _answer(text, False)]))
    assert capsys.readouterr().out == text + "\n"


def test_only_the_lines_the_check_changed_follow_the_stream(capsys):
    streamed = "KVSqueeze compresses the cache [2601.90001].\n\nCuts memory by 73% [2601.90001]."
    verified = "KVSqueeze compresses the cache [2601.90001].\n\nCuts memory by 73% [2601.90001]. ⚠"
    _stream_to_terminal(iter([streamed, _answer(verified, True)]))
    out = capsys.readouterr().out
    assert out.count("KVSqueeze compresses the cache") == 1
    assert out.endswith("--- checking the citations changed 1 line(s) (reasons below) ---\n"
                        "Cuts memory by 73% [2601.90001]. ⚠\n")


def test_changed_lines_ignore_spacing_and_name_removed_lines():
    assert changed_lines("A  first line.\nSecond.", "A first line.\nSecond.") == []
    assert changed_lines("Keep.\nDrop me [2601.99999].", "Keep.") == ["(removed) Drop me [2601.99999]."]
