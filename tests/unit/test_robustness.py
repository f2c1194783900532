"""Hostile inputs and faults: each bad file is reported by name and line, the good entries around
it are stored, and nothing already stored is lost."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.arxiv_ids import normalize_arxiv_id
from assistant.ingest.parser import parse_digest_text
from assistant.types import Digest
from tests.factories import FIXTURES

GOOD = (FIXTURES / "2026-01-20.md").read_text()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(
    st.sampled_from(GOOD.splitlines()),
    st.sampled_from(["### [1] [T](https://arxiv.org/abs/2601.1)", "### [2] [](https://arxiv.org/abs/2601.12345)",
                     "### [3] [A [nested] title](https://arxiv.org/abs/hep-th/9901001v2)", "### [x]", "Abstract:",
                     "<details>", "</details>", "Main category:", "*,,*", "TL;DR: 🧬 $p_{1|t}$"]),
    st.text(max_size=80)), max_size=60))
def test_parser_never_raises_and_every_paper_has_a_valid_id(lines):
    parsed = parse_digest_text("\n".join(lines), "fuzz.md", Digest("fuzz"))
    for paper in parsed.papers:
        assert normalize_arxiv_id(paper.id) == paper.id
        assert paper.title.strip()
    for problem in parsed.problems:
        assert problem.file == "fuzz.md" and problem.line >= 0 and problem.reason
