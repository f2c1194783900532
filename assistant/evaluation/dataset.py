"""Eval datasets: JSON Lines, one question per line.

Fields: qid, question (required); kind (free text, default "other"), gold_ids (arXiv ids, versions
are dropped), ok_ids (borderline papers an answer may cite without being required to; arXiv ids, never
also gold), must_mention (case-insensitive substrings), answerable (bool, default true).
Unknown fields are kept in `Question.extra` and otherwise ignored. Blank lines are skipped.
A malformed line is a user error reported as `file:line: reason`.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from assistant.arxiv_ids import normalize_arxiv_id
from assistant.errors import InputError

KNOWN_FIELDS = ("qid", "question", "kind", "gold_ids", "ok_ids", "must_mention", "answerable")


@dataclass
class Question:
    qid: str
    question: str
    kind: str = "other"
    gold_ids: list[str] = field(default_factory=list)  # normalised: no version suffix, no duplicates
    must_mention: list[str] = field(default_factory=list)
    # Borderline papers (touch the topic but are not about it): citing one is not an error, and
    # leaving it out is not a miss. Normalised like gold_ids; disjoint from them.
    ok_ids: list[str] = field(default_factory=list)
    answerable: bool = True
    extra: dict = field(default_factory=dict)  # fields this harness does not know, kept as read
    line: int = 0  # where it came from, for messages


def dataset_sha1(path: Path) -> str:
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()


def load_dataset(path: Path | str) -> list[Question]:
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path} is a folder; give an eval dataset file (.jsonl), e.g. evals/datasets/dev.jsonl")
    try:
        text = path.read_text(encoding="utf-8-sig")  # a BOM (Windows editors) is accepted, as in digests
    except FileNotFoundError:
        raise InputError(f"dataset not found: {path}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    questions: list[Question] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        question = parse_line(raw, f"{path}:{number}")
        question.line = number
        if question.qid in seen:
            raise InputError(f"{path}:{number}: duplicate qid '{question.qid}' (first on line {seen[question.qid]})")
        seen[question.qid] = number
        questions.append(question)
    if not questions:
        raise InputError(f"{path}: no questions (expected one JSON object per line)")
    return questions


def parse_line(raw: str, where: str) -> Question:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(data, dict):
        raise InputError(f"{where}: expected a JSON object, got {type(data).__name__}")

    def text_field(name: str, required: bool, default: str = "") -> str:
        value = data.get(name)
        if value is None:
            if required:
                raise InputError(f"{where}: missing required field '{name}'")
            return default
        if isinstance(value, (int, float)) and not isinstance(value, bool) and name == "qid":
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            raise InputError(f"{where}: '{name}' must be a non-empty string, got {value!r}")
        return value.strip()

    def string_list(name: str) -> list[str]:
        value = data.get(name)
        if value is None:
            return []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InputError(f"{where}: '{name}' must be a list of strings, got {value!r}")
        return [v for v in value if v.strip()]

    def id_list(name: str, label: str) -> list[str]:
        ids: list[str] = []
        for raw_id in string_list(name):
            pid = normalize_arxiv_id(raw_id)
            if not pid:
                raise InputError(f"{where}: {label} id {raw_id!r} is not an arXiv id (e.g. 2601.16032 or hep-th/9901001)")
            if pid not in ids:
                ids.append(pid)
        return ids

    gold = id_list("gold_ids", "gold")
    ok = id_list("ok_ids", "ok")
    both = [pid for pid in ok if pid in gold]
    if both:
        raise InputError(f"{where}: {', '.join(both)} listed in both gold_ids and ok_ids "
                         "(a paper is required or optional, not both)")
    answerable = data.get("answerable", True)
    if not isinstance(answerable, bool):
        raise InputError(f"{where}: 'answerable' must be true or false, got {answerable!r}")
    return Question(qid=text_field("qid", True), question=text_field("question", True),
                    kind=text_field("kind", False, "other"), gold_ids=gold, ok_ids=ok,
                    must_mention=string_list("must_mention"), answerable=answerable,
                    extra={k: v for k, v in data.items() if k not in KNOWN_FIELDS})
