"""What a sentence of an abstract does: set the scene (background), say what the paper does
(contribution), or report what it found (result). Answers lead with findings, not background.

Plain regular expressions over English abstracts; the Chinese summaries are already split by role
(TL;DR / Motivation / Method / Result / Conclusion) and need none of this.
"""
from __future__ import annotations

import re

from assistant.answer.evidence import numbers_in

CONTRIBUTION = re.compile(r"\b(we|this (paper|work|study|article)|our|here)\b.{0,60}\b(propose|present|introduce|develop|design|"
                          r"build|show|study|investigate|analy[sz]e|demonstrate|derive|establish|formulate|release|"
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
