"""Synthetic digests for scale benchmarks and fault tests.

Entries have realistic sizes and wording: titles and abstracts are assembled from real sentences
and title words of a source corpus (../shared/digests when present, else the sample digest shipped
in the package). Each synthetic paper gets a unique invented method name planted in its title and
abstract, so a planted question ("Which paper introduces <name> ...?") has exactly one right answer.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from assistant.ingest.parser import parse_digest_file
from assistant.text import split_sentences
from assistant.types import Paper

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "digests"
SAMPLE = ROOT / "assistant" / "sample_digests"
_SYLLABLES = "ka ve lo ri mu tan zor bex qui no pha dre sel vun oct yl gra mi tor pel sha fen".split()


@dataclass
class PlantedQuestion:
    question: str
    gold_id: str


def source_papers() -> list[Paper]:
    folder = SHARED if SHARED.is_dir() else SAMPLE
    return [p for path in sorted(folder.glob("*")) for p in parse_digest_file(path).papers]


def _name(rng: random.Random, used: set[str]) -> str:
    while True:
        name = "".join(rng.choice(_SYLLABLES) for _ in range(3)).capitalize() + rng.choice(["", "Net", "Opt", "Former", "KV"])
        if name not in used:
            used.add(name)
            return name


def synthetic_papers(n: int, seed: int = 7) -> tuple[list[Paper], list[PlantedQuestion]]:
    rng = random.Random(seed)
    pool = source_papers()
    sentences = [s for p in pool for s in split_sentences(p.abstract) if 40 < len(s) < 400]
    title_words = [w for p in pool for w in p.title.replace(":", " ").split() if len(w) > 3]
    categories = [p.category for p in pool]
    authors = [a for p in pool for a in p.authors]
    used: set[str] = set()
    papers, questions = [], []
    for i in range(n):
        name = _name(rng, used)
        topic = " ".join(rng.sample(title_words, 4))
        body = rng.sample(sentences, rng.randint(5, 9))
        abstract = (f"We introduce {name}, a method for {topic.lower()}. " + " ".join(body)
                    + f" {name} improves over prior work by {rng.randint(5, 60)}% on our benchmarks.")
        donor = rng.choice(pool)
        pid = f"{2700 + i // 90000:04d}.{i % 90000:05d}"
        papers.append(Paper(id=pid, title=f"{name}: {topic}", authors=rng.sample(authors, 3),
                            category=rng.choice(categories), tldr=donor.tldr, motivation=donor.motivation,
                            method=donor.method, result=donor.result, conclusion=donor.conclusion, abstract=abstract))
        questions.append(PlantedQuestion(f"Which paper introduces {name} for {topic.lower()}?", pid))
    return papers, questions


def render_digest(papers: list[Paper]) -> str:
    """The digest Markdown layout (see shared/FORMAT.md)."""
    by_category: dict[str, list[Paper]] = {}
    for paper in papers:
        by_category.setdefault(paper.category, []).append(paper)
    out = ["<div id=toc></div>", "", "# Table of Contents", ""]
    out += [f"- [{c}](#{c}) [Total: {len(ps)}]" for c, ps in by_category.items()]
    n = 0
    for category, group in by_category.items():
        out += ["", "", f"<div id='{category}'></div>", "", f"# {category} [[Back]](#toc)", ""]
        for paper in group:
            n += 1
            out += [f"### [{n}] [{paper.title}](https://arxiv.org/abs/{paper.id})", f"*{','.join(paper.authors)}*", "",
                    f"Main category: {paper.category}", "", f"TL;DR: {paper.tldr}", "", "", "<details>",
                    "  <summary>Details</summary>", f"Motivation: {paper.motivation}", "", f"Method: {paper.method}", "",
                    f"Result: {paper.result}", "", f"Conclusion: {paper.conclusion}", "", f"Abstract: {paper.abstract}",
                    "", "</details>", ""]
    return "\n".join(out) + "\n"


def write_synthetic_digests(out_dir: Path, n: int, seed: int = 7, per_file: int = 70) -> list[PlantedQuestion]:
    papers, questions = synthetic_papers(n, seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    for start in range(0, n, per_file):
        # One digest per calendar day (real dates: the parser reads a digest's date from its name).
        day = date(2027, 1, 1) + timedelta(days=start // per_file)
        (out_dir / f"{day.isoformat()}.md").write_text(render_digest(papers[start:start + per_file]))
    (out_dir / "planted_questions.jsonl").write_text("\n".join(json.dumps(q.__dict__) for q in questions) + "\n")
    return questions


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Write synthetic digests with planted questions.")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("-n", type=int, default=350)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--per-file", type=int, default=70, help="papers per digest file")
    args = parser.parse_args()
    write_synthetic_digests(args.out_dir, args.n, args.seed, args.per_file)
    print(f"wrote {args.n} papers to {args.out_dir}")
