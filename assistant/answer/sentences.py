"""A paper's own sentences as answers, lists and briefings quote them: bounded, none addressed to
the reader, and the ones that say what the paper does and what it achieves.

Below the answerers: retrieval's metadata passages (chain.overview_sources), briefings, what's new
and the MCP tools take these sentences without the extractive answerer (answerers/extractive.py),
which quotes them too."""
from __future__ import annotations

from assistant.answer.answerers.roles import (
    BACKGROUND,
    CONTRIBUTION,
    ENUMERATION,
    FINDING,
    is_filler,
    names_method,
    names_subject,
)
from assistant.answer.injection import addresses_reader
from assistant.text import clean_latex, numbers_in, split_sentences
from assistant.types import Paper

# Work per paper at question time is bounded whatever an entry holds (a 1 MB abstract once made a
# question take 84 s): sentences considered per section, characters per sentence.
MAX_SENTENCES_PER_SECTION = 40
MAX_SENTENCE_CHARS = 1500


def paper_sentences(text: str) -> list[str]:
    """The sentences of a section that may be quoted: bounded in number and size (see the limits
    above), and none that addresses its reader instead of reporting on the paper, such as
    instructions planted in a digest (assistant/answer/injection.py)."""
    sentences = split_sentences(text[: MAX_SENTENCES_PER_SECTION * MAX_SENTENCE_CHARS])[:MAX_SENTENCES_PER_SECTION]
    return [s for s in sentences if not addresses_reader(s)]


def abstract_sentences(paper: Paper) -> list[str]:
    """The abstract's sentences as read (each one's LaTeX rendered: "(\\textbf{DnR})" names DnR), none
    addressed to the reader (paper_sentences). Split before rendering: a sentence may open with a
    command ("\\ours achieves …")."""
    return [clean_latex(s) for s in paper_sentences(paper.abstract)]


def is_filler_in(sentence: str, paper: Paper) -> bool:
    """roles.is_filler with the paper's own title and abstract (as read)."""
    return is_filler(sentence, clean_latex(paper.title), clean_latex(paper.abstract))


def contribution_sentence(paper: Paper, language: str = "en") -> str:
    """The sentence that says what the paper does: its TL;DR in Chinese, else the abstract's first
    'we propose …' that is no filler (roles.is_filler: not "To tackle this challenge, we propose a
    bottom-up experiment pipeline.", "(1) We utilize …"), else its first sentence that names its
    subject and is neither background nor filler."""
    if language == "zh" and paper.tldr:
        return paper.tldr
    sentences = abstract_sentences(paper)
    contributions = [s for s in sentences if CONTRIBUTION.search(s) and not is_filler_in(s, paper)]
    plain = [s for s in sentences if not BACKGROUND.search(s) and not is_filler_in(s, paper)]
    title, abstract = clean_latex(paper.title), clean_latex(paper.abstract)
    named_plain = [s for s in plain if names_subject(s, title, abstract)]
    for choice in (contributions, named_plain, plain, sentences):
        if choice:
            return choice[0]
    return paper.tldr or paper.title


def result_sentence(paper: Paper) -> str | None:
    """The abstract's first sentence that states a figure of what the paper achieves (a list
    marker's "(1)" is no figure; background, or a pointer back, is no finding of its own)."""
    for sentence in abstract_sentences(paper):
        # Background ("While ternary quantization offers … reducing weights to {-1, 0, +1}, …") states
        # others' figures, unless it names the paper's own method ("Despite …, Beat-SSL reached 93% …").
        title, abstract = clean_latex(paper.title), clean_latex(paper.abstract)
        background = BACKGROUND.search(sentence) and not names_method(sentence, title, abstract)
        figure = numbers_in(ENUMERATION.sub(" ", sentence)) and FINDING.search(sentence)
        if figure and not background and not is_filler_in(sentence, paper):
            return sentence
    return None


SHORT_NAME_WORDS = 8


def short_name(paper: Paper) -> str:
    """How an answer names a paper in a few words: the title's head before a colon when it is short
    ("KVzap", "Towards Specialized Generalists"), else the title's first words."""
    title = clean_latex(paper.title).replace("**", "")
    head = title.split(":", 1)[0].strip() if ":" in title else ""
    if head and len(head.split()) <= 4 and len(head) <= 40:
        return head
    words = title.split()
    return title if len(words) <= SHORT_NAME_WORDS else " ".join(words[:SHORT_NAME_WORDS]) + " …"
