"""Digest text as a person reads it (assistant/markup.py): LaTeX rendered by pylatexenc, numbers kept."""
import pytest

from assistant.daily.summary_check import check_paper
from assistant.ingest.pipeline import collect_papers
from assistant.markup import LEFTOVER_MARKUP, readable
from assistant.text import numbers_in
from assistant.types import SUMMARY_SECTIONS
from tests.factories import SHARED_DIGESTS, needs_shared


@pytest.mark.parametrize("raw, shown", [
    (r"KVzap achieves 2--4$\times$ KV cache compression", "KVzap achieves 2–4× KV cache compression"),
    (r"KVzap achieves $2$--$4\times$ compression", "KVzap achieves 2–4× compression"),
    ("speed--accuracy trade-offs", "speed–accuracy trade-offs"),
    ("a ``Rashomon set'' of models", "a “Rashomon set” of models"),
    (r"a {\em pre-unlearning} metric and \emph{banded} \textbf{G}lobal", "a pre-unlearning metric and banded Global"),
    (r"with $p\in(1,2]$", "with p ∈ (1,2]"),
    (r"of order $O(n^{-\frac{2+d_K}{2+2d_K} + ε})$ for any $ε> 0$", "of order O(n^(-(2+d_K)/(2+2d_K) + ε)) for any ε > 0"),
    (r"at most $O\left(ε^{-d_ρ}\log\frac{1}ε\right)$ samples", "at most O(ε^(-d_ρ) log 1/ε) samples"),
    (r"reaches 99.0\% with 50% fewer", "reaches 99.0% with 50% fewer"),       # a bare % is a percent sign, not a comment
    (r"Operator~(\ours) at 0.19~MB, (~1 hour), ~50x larger", "Operator (ours) at 0.19 MB, (~1 hour), ~50x larger"),
    ("with 1.08~3.80x and 5.2%~50.3% gains", "with 1.08~3.80x and 5.2%~50.3% gains"),     # ranges
    ("reducing weights to {-1, 0, +1}", "reducing weights to {-1, 0, +1}"),  # braces in prose are text
    (r"regret $O\left(T^{\max\{β,1-β\}}\right)$, \ours achieves", "regret O(T^(max {β,1-β})), ours achieves"),
    (r"$\mathcal{O}(\log^2 T)$ and $\boldsymbolμ$P", "O(log^2 T) and μP"),
    (r"costs $0.001-0.04 per million tokens", "costs $0.001-0.04 per million tokens"),  # money, not a formula
    (r"code at \footnote{https://github.com/a_b/c~d}", "code at [https://github.com/a_b/c~d]"),
    ("中文摘要：提升50%，2--4倍", "中文摘要：提升50%，2–4倍"),
])
def test_latex_is_rendered_as_text(raw, shown):
    assert readable(raw) == shown
    assert readable(shown) == shown  # rendering rendered text changes nothing
    assert numbers_in(raw) == numbers_in(shown)


def test_plain_text_is_only_whitespace_folded():
    assert readable("  A plain   sentence,\nwith 3 numbers: 1.5x and 20%. ") == "A plain sentence, with 3 numbers: 1.5x and 20%."


@pytest.mark.parametrize("summary, abstract", [
    ("KVzap实现了2到4倍的KV缓存压缩率。", r"KVzap achieves 2--4$\times$ KV cache compression."),
    ("KVzap实现了2到4倍的压缩。", "KVzap achieves 2-4x compression."),
    ("可以用O(ε^{-d_ρ}log(1/ε))样本高概率计算上界。", r"using at most $O\left(ε^{-d_ρ}\log\frac{1}ε\right)$ samples."),
])
def test_summary_numbers_read_as_the_abstract_means_them(summary, abstract):
    from assistant.types import Paper

    paper = Paper("2601.00001", "A Paper", ["Ada Lovelace"], "cs.LG", result=summary, abstract=abstract)
    assert check_paper(paper) == []


@pytest.fixture(scope="module")
def sample_papers():
    papers, _, _ = collect_papers([SHARED_DIGESTS])
    return papers


@needs_shared
def test_no_markup_is_left_in_any_sample_papers_rendered_text(sample_papers):
    assert len(sample_papers) == 350
    left = [(p.id, name, match.group(0)) for p in sample_papers
            for name in ("title", "abstract", *SUMMARY_SECTIONS)
            for match in LEFTOVER_MARKUP.finditer(readable(getattr(p, name)))]
    assert left == []


@needs_shared
def test_number_checks_read_the_same_numbers_from_raw_and_rendered_sample_text(sample_papers):
    fields = [(p.id, name, getattr(p, name)) for p in sample_papers for name in ("title", "abstract", *SUMMARY_SECTIONS)]
    assert [(pid, name) for pid, name, text in fields if numbers_in(text) != numbers_in(readable(text))] == []
    assert [(pid, name) for pid, name, text in fields if readable(readable(text)) != readable(text)] == []
