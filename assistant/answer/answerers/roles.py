"""What a sentence of an abstract does: set the scene (background), say what the paper does
(contribution), or report what it found (result). Answers lead with findings, not background.

Plain regular expressions over English abstracts; the Chinese summaries are already split by role
(TL;DR / Motivation / Method / Result / Conclusion) and need none of this.
"""
from __future__ import annotations

import re
from functools import lru_cache

from assistant.text import numbers_in

CONTRIBUTION = re.compile(r"\b(we|this (paper|work|study|article)|our|here)\b.{0,60}\b(propose|present|introduce|describe|"
                          r"develop|design|build|show|study|investigate|analy[sz]e|demonstrate|derive|establish|formulate|"
                          r"release|"
                          r"construct|prove|provide|offer|report|find|explore|evaluate)", re.I)
FINDING = re.compile(r"\b(improv|reduc|outperform|achiev|speed|faster|accura|gain|lower|higher|up to|surpass|"
                     r"state-of-the-art|sota|exceed|boost|cut|save|saving|decreas|increas|match|yield|attain|"
                     r"we find|we show|results? (show|demonstrate|indicate)|experiments? (show|demonstrate))", re.I)
BACKGROUND = re.compile(r"^(while|although|though|despite|however|recent(ly)?|in recent years|with the (rapid|growing|"
                        r"increasing)|as [a-z ]{0,40}(grow|increas|scale)|existing|current|traditional|conventional|"
                        r"many|most|prior|previous|to date|nowadays|today)\b|"
                        r"\b(remains? (a |an )?(significant |major |key |fundamental |"
                        r"critical |long-standing )?(open|challeng|difficult|unclear|limited|bottleneck|problem)|"
                        r"(is|are) (challenging|difficult|hard|costly|expensive|time-consuming|non-trivial)|"
                        r"emerg(e|es|ed|ing) as|"
                        r"aims? to|(is|are) (an? )?(crucial|key|promising|popular|powerful|widely|common|emerging)|"
                        r"ha(s|ve) (achieved|shown|seen|made|demonstrated) (significant|remarkable|impressive|great|"
                        r"substantial|strong|notable)|ha(s|ve) (been|become|attracted|emerged|gained)|"
                        r"is (essential|crucial|critical|"
                        r"important|fundamental|key|vital|central|increasingly)|are (essential|crucial|critical|important|"
                        r"increasingly)|suffers? from|limited by|bottleneck|lack(s|ing)? |struggle|fall short|"
                        r"poses? (a |significant )?challeng)", re.I)
# Questions that ask for an effect or a figure: the sentence stating it should lead.
ASKS_RESULT = re.compile(r"\b(how (much|many|fast|large|big|well|long|accurate)|(what|which) factor|"
                         r"speed(s|ed)? (it |them )?up|what (accuracy|speedup|percentage|fraction|"
                         r"improvement|reduction|score|error|gain|throughput|latency|performance|result)|by what|best|"
                         r"score[sd]?|speedup|faster|achiev\w*|improv\w*|outperform\w*|reduc\w*|gain|accuracy|"
                         r"result\w*|perform\w*|compare\w*|percent|%|rate)\b|多少|提升|降低|减少|提高|倍|效果|结果|性能|最好|最佳|变化|"
                         r"准确率|精度|速度|加速|节省|能耗|增益|误差|比例|百分",
                         re.I)


# -- the sentence that stands for a paper ------------------------------------------------------------
# Some sentences only make sense beside their neighbours, and read as filler when quoted alone for a
# paper: an item of an enumeration ("(1) We utilize an optimization formulation…", "Second, …"), an
# example ("For example, given an article on…"), and a sentence that points back at what came
# before instead of naming its subject ("To tackle this challenge, we propose a bottom-up experiment
# pipeline.", "Overall, our work provides a practical, turnkey solution"). The last kind stands for
# the paper when it also names it (its method's name, or the title's own terms): "To address these
# issues, we … propose MGU, a Memorization-guided Graph Unlearning framework." does.
ENUMERATION = re.compile(r"^\s*(?:\(?\d{1,2}[).]|\(?[ivx]{1,4}\)|\(?[a-h]\))\s")
TRANSITION = re.compile(r"^\s*(?:first(?:ly)?|second(?:ly)?|third(?:ly)?|finally|lastly|next|then|moreover|furthermore|"
                        r"additionally|besides|also|meanwhile)\b", re.I)
EXAMPLE = re.compile(r"^\s*(?:for (?:example|instance)|e\.g\.|as an (?:example|illustration)|consider|imagine)\b", re.I)
POINTS_BACK = re.compile(r"^\s*(?:(?:to|in order to) (?:tackle|address|solve|overcome|mitigate|bridge|fill|close|handle|resolve|"
                         r"remedy|alleviate|achieve|do|answer|meet|fix)\b[^,]{0,60},|to (?:this|that) end\b|"
                         r"(?:in|with) (?:this|that|these) (?:regard|context|way|light|spirit|setting)\b|"
                         r"(?:building|based|drawing|relying) (?:on|upon) (?:this|these|that|those)\b|"
                         r"(?:motivated|inspired|guided) by (?:this|these|that|those)\b|for (?:this|that) (?:purpose|reason)\b|"
                         r"(?:overall|in summary|in short|in conclusion|taken together|together|collectively)\b|"
                         r"(?:this|these|that|those|it|they|such)\s+(?!paper\b|work\b|study\b|article\b)\w+|"
                         r"(?:the|our) (?:approach|method|framework|model|system|technique|pipeline|proposed|resulting|work|"
                         r"findings|results|analysis|contribution)s?\b|our (?:work|findings|results|analysis)\b)", re.I)
# Words of a title that say nothing of its subject.
_TITLE_FILLER = frozenset("""a an and the of for in on with via to from by towards toward using based under through at as its
is are be do does what when how why can beyond into new novel efficient effective fast simple scalable robust learning
learned model models modeling approach framework method methods system systems large language llm llms deep neural
network networks data analysis study perspective rethinking revisiting understanding towards unified general
improving improved enhancing enhanced""".split())


@lru_cache(maxsize=4096)
def paper_names(title: str, abstract: str = "") -> frozenset[str]:
    """The names a paper gives what it makes: the title's head before a colon when it is short
    ('KVzap', 'MMR-GRPO'), and the names the abstract coins: a name-like word ('DiffCoder', 'SIP',
    'Muon-NSR') first met in the sentence that says what the paper does ('we propose …', '… (SIP)').
    'LLMs', first met in the background, is nobody's name."""
    names = set()
    head = title.split(":", 1)[0].strip().strip("*") if ":" in title else ""
    if head and len(head.split()) <= 3 and len(head) <= 40:
        names.add(head)
    seen: set[str] = set()
    from assistant.text import split_sentences  # a leaf module; imported here to keep this one's imports light

    for sentence in split_sentences(abstract):
        words = set(_NAME_LIKE.findall(sentence)) - seen
        if _INTRODUCES.search(sentence):
            names |= {w for w in words if not re.fullmatch(r"[A-Z]+s|.*-(?:based|like|aware|free|style)?", w)}
        elif CONTRIBUTION.search(sentence):  # "We investigate … Speculative Importance Prediction (SIP)"
            names |= {w for w in re.findall(r"\(([^()\s]+)\)", sentence) if w in words}
        seen |= words
    return frozenset(names)


# A word that reads as a name: a capital or digit after its first letter (KVzap, SIP, Muon-NSR, R4).
_NAME_LIKE = re.compile(r"(?<![\w-])[A-Za-z][\w\-]*(?:[A-Z]|\d)[\w\-]*")
# Where a paper introduces what it makes (present tense: "proposed methods" only refers back to it).
_INTRODUCES = re.compile(r"\b(?:propose|present|introduce|develop|design|build|construct|release)s?\b|"
                         r"\b(?:called|named|termed|dubbed)\b", re.I)


def title_terms(title: str) -> set[str]:
    """The words of a title that say what the paper is about, lower-cased."""
    return {w for w in (m.lower() for m in re.findall(r"[A-Za-z][A-Za-z0-9\-]+", title)) if w not in _TITLE_FILLER and len(w) > 2}


def names_method(sentence: str, title: str, abstract: str = "") -> bool:
    """The sentence names the paper's own method ('KVzap', 'SIP', 'Beat-SSL')."""
    return any(re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", sentence, re.I) for name in paper_names(title, abstract))


def names_subject(sentence: str, title: str, abstract: str = "") -> bool:
    """The sentence names what the paper is about: a name the paper gives its method, or a good
    share of the title's own terms."""
    if names_method(sentence, title, abstract):
        return True
    terms = title_terms(title)
    found = {w for w in terms if re.search(rf"(?<![\w-]){re.escape(w)}", sentence, re.I)}
    return bool(terms) and len(found) >= min(2, len(terms), max(1, round(0.3 * len(terms))))


def is_filler(sentence: str, title: str, abstract: str = "") -> bool:
    """True for a sentence that cannot stand for its paper alone: an enumeration item, an example,
    or one that points back at its context and neither names the paper's subject nor says enough
    of its own after the pointer ("To tackle this challenge, we propose a bottom-up experiment
    pipeline." is filler; "To address this, we propose a fusion framework that integrates local,
    channel-wise descriptors and global, trial-level descriptors, …" is not)."""
    if ENUMERATION.search(sentence):
        return True
    named = names_subject(sentence, title, abstract)
    if EXAMPLE.search(sentence):  # an example is filler, unless it is a finding of the paper's own method
        return not (named and numbers_in(sentence) and FINDING.search(sentence))
    if named:
        return False
    pointer = POINTS_BACK.search(sentence) or TRANSITION.search(sentence)
    own = _content_words(sentence[pointer.end():] if pointer else sentence)
    return len(own) < (MIN_OWN_WORDS if pointer else MIN_WORDS)


MIN_OWN_WORDS = 8  # content words a sentence says after pointing back, to stand on its own
MIN_WORDS = 5  # ...and any sentence ("We show it is not.", "We formulate the problem in a reach-avoid setup.")


def _content_words(text: str) -> list[str]:
    from assistant.search.lexical import tokenize  # here, not at the top: roles is imported by the fast unit layer

    return tokenize(text)


def role(sentence: str) -> str:
    """'result', 'contribution', 'background' or 'other'."""
    if numbers_in(sentence) and FINDING.search(sentence):
        return "result"
    if CONTRIBUTION.search(sentence):
        return "contribution"
    if BACKGROUND.search(sentence):
        return "background"
    return "other"


# "What accuracy does X report, and on what hardware was it run?": each part gets its own sentence.
_PART_BOUNDARY = re.compile(r"[,;]?\s+(?:and|also)\s+(?=(?:on |in |with |by |for |at )?(?:what|which|how|where|when|who|why|"
                            r"does|do|did|is|are|was|were)\b)|[？?]\s*(?=\S)|[，,；;]\s*(?=(?:[^，,；;？?]{0,12})(?:什么|多少|哪|如何|怎样|是否))",
                            re.I)


def question_parts(question: str) -> list[str]:
    """The parts of a question that asks several things at once (just the question when one)."""
    parts = [p.strip(" ,;，；") for p in _PART_BOUNDARY.split(question)]
    return [p for p in parts if len(p) > 3] or [question]
