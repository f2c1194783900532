"""The words that frame a question rather than name its subject ("which papers study …",
"anything on …", "有哪些…的论文"): set questions drop them before naming concepts, question routing
reads them to tell a bare topic from a question about a person or a category, and citation
checking ignores the Chinese ones. The Chinese words, FRAMING_ZH, live in assistant/text.py, below every
layer that reads them.
"""
from __future__ import annotations

import re

from assistant.search.vocabulary import stem

# Words that frame a set question rather than name its subject ("which papers study …", "anything on …").
FRAMING_EN = frozenset(stem(w) for w in """
a an the and or of in on about for to with by from into at as is are was were be been do does did
which what who whose any anything some something there here this that these those it its their them they he she his her
paper papers work works study studies studied studying research researches article articles preprint
list show find give tell me us i we you please look looking want need know interested
new recent latest today todays week digest digests collection arxiv stored
use uses using used apply applies applying applied propose proposes proposed proposing present presents
address addresses tackle tackles focus focused focusing concern concerning related relate regarding
deal deals cover covers covered involve involves involving consider considers topic topics area field
method methods approach approaches technique techniques all other else
combine combines combining combined rely relies relying tackle tackles tackling analyze analyzes analyse analyses
investigate investigates explore explores examine examines ways way rather ones one specific kind kinds type types
such like e g eg i ie etc including include includes without via instead especially particularly mainly various based
several different existing aim aims try tries make makes making get gets help helps
""".split())
STOP_STEMS = frozenset(stem(w) for w in "how why when where whether can could would should will may might not no "
                        "than then also just only very more most such each other same both between up down out off "
                        "over under".split())
# "Which papers work with EEG signals, and what tasks do they address?": the trailing question asks
# about the members, it does not choose them.
# "… language models rather than autoregressive ones": what the question sets its subject against
# is not part of the subject.
CONTRAST = re.compile(r"\b(?:rather than|instead of|as opposed to|other than|unlike|except)\b[^,;?.()（）]*", re.I)
FOLLOW_ON = re.compile(r"[,;]?\s+(?:and|also)\s+(?:what|how|which|who|where|when|why|do|does|are|is)\b.*$", re.I)
