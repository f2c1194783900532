"""Optional LLM-judged metrics: faithfulness (every claim is in the retrieved papers) and answer
relevance (the answer addresses the question). They run only with `--judge` and an LLM backend,
and are reported under `llm_judged`, apart from the deterministic metrics: a judge model can be
wrong, and its scores change with the model.
"""
from __future__ import annotations

from assistant.answer.answerers.llm import LLMAnswerer, sanitize
from assistant.config import Settings
from assistant.errors import BackendError, InputError
from assistant.prompts import load_prompt
from assistant.text import clean_latex, parse_json_object
from assistant.tokens import count_tokens
from assistant.types import Paper

SOURCE_TOKENS = 3000  # the retrieved papers' abstracts shown to the judge, at most


class Judge:
    def __init__(self, settings: Settings, answerer: LLMAnswerer | None = None):
        if not settings.uses_llm and answerer is None:
            raise InputError("--judge needs an LLM backend: set DIGESTQA_LLM_MODEL/DIGESTQA_LLM_BASE_URL or use --preset")
        self.settings = settings
        self.llm = answerer or LLMAnswerer(settings)
        self.model = settings.llm_model

    def grade(self, question: str, answer: str, papers: list[Paper]) -> dict:
        """{"llm_faithful": 0/1 or None, "llm_relevant": 0/1 or None, "llm_judge_reason": str}."""
        blocks, used = [], 0
        for paper in papers:
            block = f'<source id="{paper.id}">{sanitize(clean_latex(paper.title + ". " + paper.abstract))}</source>'
            used += count_tokens(block, self.model)
            if used > SOURCE_TOKENS and blocks:
                break
            blocks.append(block)
        prompt = load_prompt("judge").format(question=question, sources="\n".join(blocks) or "(none)",
                                             answer=answer)
        try:
            reply = self.llm.complete([{"role": "user", "content": prompt}])
        except BackendError as exc:
            return {"llm_faithful": None, "llm_relevant": None, "llm_judge_reason": f"judge failed: {exc}"}
        data = parse_json_object(reply) or {}

        def flag(name):
            value = data.get(name)
            return float(value) if isinstance(value, bool) else None

        return {"llm_faithful": flag("faithful"), "llm_relevant": flag("relevant"),
                "llm_judge_reason": str(data.get("reason", ""))[:200] if data else "unparseable judge reply"}


def judge_records(judge: Judge, records: list[dict], catalog: dict[str, Paper], progress=None) -> dict:
    """Grade answered (not refused, non-empty) records in place; return the `llm_judged` summary."""
    graded = 0
    for record in records:
        if record.get("refused") or not record.get("answer", "").strip():
            continue
        papers = [catalog[pid] for pid in record.get("retrieved_ids", []) if pid in catalog]
        record.update(judge.grade(record["question"], record["answer"], papers))
        graded += 1
        if progress:
            progress()

    def mean(key):
        values = [r[key] for r in records if r.get(key) is not None]
        return (sum(values) / len(values) if values else None), len(values)

    faithful, n_f = mean("llm_faithful")
    relevant, n_r = mean("llm_relevant")
    return {"judge_model": judge.model, "faithfulness": faithful, "answer_relevance": relevant,
            "n": {"faithfulness": n_f, "answer_relevance": n_r, "graded": graded},
            "note": "LLM-judged, not deterministic: scores depend on the judge model"}
