"""Set questions ("which papers study X?", "LoRA papers?", "有哪些…的论文"): every paper a reader
would list, decided by meaning and calibrated on labelled questions.

- framing.py: the words that frame a question rather than name its subject;
- concepts.py: the question's subject as concepts (alias groups, content words);
- presence.py: how prominently a paper states a concept;
- keyterms.py: the subject in the papers' own words (pseudo-relevance feedback);
- features.py: what is measured of each candidate;
- model.py: the calibrated model and its bars (assistant/data/relevance.json, fitted by
  evals/calibrate.py);
- judge.py: candidates -> features -> probability -> member / may be related / out.
"""
