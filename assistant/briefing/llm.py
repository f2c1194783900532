"""The LLM's part of a briefing, by map-reduce so a 70-paper category fits any context window.

map:    papers in batches that fit the token budget -> one line per paper ("[id] contribution; result").
reduce: the themes (computed in code) with their papers' titles and lines -> theme names, a sentence
        per theme, and the overview, as JSON.

Nothing the model writes is trusted: a line must cite only its own paper and contain no number the
paper does not state; a theme summary may cite only that theme's papers; the overview only selected
papers. Whatever fails a check keeps its extractive wording, and the briefing says how much did.
"""
from __future__ import annotations

import re

from assistant.answer.answerers.llm import LLMAnswerer, sanitize
from assistant.arxiv_ids import find_arxiv_ids
from assistant.briefing.content import cited_ids, clip, scrub
from assistant.briefing.model import Briefing
from assistant.config import Settings
from assistant.errors import BackendError
from assistant.prompts import load_prompt
from assistant.text import clean_latex, numbers_in, paper_text, parse_json_object
from assistant.tokens import count_tokens
from assistant.types import Paper, warning

REPLY_TOKENS_PER_PAPER = 90  # room for one line of output per paper in a map batch
MAX_BATCH = 16
LANGUAGES = {"en": "English", "zh": "Chinese (简体中文)"}
_LINE = re.compile(r"^\s*(?:[-*•]|\d+[.)])?\s*\[([^\]]+)\]\s*[:：\-–—]?\s*(.+?)\s*$")


class BriefingWriter:
    def __init__(self, settings: Settings, answerer: LLMAnswerer | None = None):
        self.settings = settings
        self.llm = answerer or LLMAnswerer(settings)

    def rewrite(self, briefing: Briefing, papers: dict[str, Paper], progress) -> None:
        """Rewrite the wording of `briefing` in place, all or nothing: on BackendError it is left as it was."""
        saved = (dict(briefing.lines), [(t.name, t.summary) for t in briefing.themes], briefing.overview)
        try:
            self._rewrite(briefing, papers, progress)
        except BackendError:
            briefing.lines, briefing.overview = saved[0], saved[2]
            for theme, (name, summary) in zip(briefing.themes, saved[1], strict=False):
                theme.name, theme.summary = name, summary
            raise

    def _rewrite(self, briefing: Briefing, papers: dict[str, Paper], progress) -> None:
        system = load_prompt("brief_system")
        batches = self.batches([papers[pid] for theme in briefing.themes for pid in theme.papers], briefing.lang)
        kept = 0
        for done, batch in enumerate(batches):
            progress("LLM: one line per paper", done, len(batches))
            reply = self.llm.complete([{"role": "system", "content": system},
                                       {"role": "user", "content": self.map_prompt(batch, briefing.lang)}])
            for pid, line in parse_lines(reply, {p.id for p in batch}).items():
                if supported(line, [papers[pid]]):
                    briefing.lines[pid] = line
                    kept += 1
        progress("LLM: one line per paper", len(batches), len(batches))

        progress("LLM: themes and overview", 0, 1)
        reply = self.llm.complete([{"role": "system", "content": system},
                                   {"role": "user", "content": self.reduce_prompt(briefing)}])
        named, summaries, overview = self.apply_reduce(reply, briefing, papers)
        progress("LLM: themes and overview", 1, 1)

        if not (kept or named or overview):
            raise BackendError("the model's replies did not follow the briefing format")
        briefing.backend = self.llm.name
        total = len(briefing.papers)
        if kept < total:
            briefing.notices.append(warning(f"{total - kept} of {total} paper lines are extractive: the model's line "
                                            "was missing or cited/stated something its paper does not support"))
        if named < len(briefing.themes) or not overview:
            briefing.notices.append(f"the model named {named} of {len(briefing.themes)} themes"
                                    + ("" if overview else "; the overview is extractive"))

    def batches(self, papers: list[Paper], lang: str) -> list[list[Paper]]:
        budget = self.settings.llm_context_tokens - count_tokens(load_prompt("brief_system") + load_prompt("brief_map"),
                                                                 self.settings.llm_model)
        out: list[list[Paper]] = []
        current: list[Paper] = []
        used = 0
        for paper in papers:
            cost = count_tokens(source_block(paper, lang), self.settings.llm_model) + REPLY_TOKENS_PER_PAPER
            if current and (used + cost > budget or len(current) >= MAX_BATCH):
                out.append(current)
                current, used = [], 0
            current.append(paper)
            used += cost
        if current:
            out.append(current)
        return out

    def map_prompt(self, batch: list[Paper], lang: str) -> str:
        return load_prompt("brief_map").format(sources="\n\n".join(source_block(p, lang) for p in batch),
                                               language=LANGUAGES[lang], count=len(batch))

    def reduce_prompt(self, briefing: Briefing) -> str:
        # Lines are trimmed so 70 papers' worth still fits a small context window.
        width = max(60, min(200, (self.settings.llm_context_tokens * 3) // max(1, len(briefing.papers))))
        blocks = []
        for index, theme in enumerate(briefing.themes, 1):
            rows = [f"[{pid}] {sanitize(briefing.titles[pid])}: {sanitize(clip(briefing.lines[pid], width))}"
                    for pid in theme.papers]
            blocks.append(f"Theme {index} ({len(theme.papers)} papers):\n" + "\n".join(rows))
        return load_prompt("brief_reduce").format(count=len(briefing.papers), category=briefing.category,
                                                  label=briefing.label, themes="\n\n".join(blocks),
                                                  language=LANGUAGES[briefing.lang])

    def apply_reduce(self, reply: str, briefing: Briefing, papers: dict[str, Paper]) -> tuple[int, int, bool]:
        data = parse_json_object(reply)
        if data is None:
            return 0, 0, False
        named = summaries = 0
        entries = data.get("themes") if isinstance(data.get("themes"), list) else []
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("index"), int):
                continue
            if not 1 <= entry["index"] <= len(briefing.themes):
                continue
            theme = briefing.themes[entry["index"] - 1]
            name = entry.get("name")
            if isinstance(name, str) and 0 < len(name.strip()) <= 80 and not find_arxiv_ids(name):
                theme.name = " ".join(name.strip().strip('"').split())
                named += 1
            summary = entry.get("summary")
            if isinstance(summary, str) and summary.strip():
                text, removed = scrub(summary.strip(), set(theme.papers))
                if not removed and supported(text, [papers[pid] for pid in theme.papers]):
                    theme.summary = text
                    summaries += 1
        overview = data.get("overview")
        if isinstance(overview, str) and overview.strip():
            text, removed = scrub(overview.strip(), set(briefing.papers))
            if not removed and cited_ids(text) and supported(text, list(papers.values())):
                briefing.overview = text
                return named, summaries, True
        return named, summaries, False


def source_block(paper: Paper, lang: str) -> str:
    parts = [paper.abstract]
    if lang == "zh" and paper.tldr:
        parts.append("TL;DR (Chinese summary): " + paper.tldr)
    body = sanitize(clean_latex("\n".join(p for p in parts if p)))
    return f'<source id="{paper.id}" title="{sanitize(clean_latex(paper.title))}">\n{body}\n</source>'


def parse_lines(reply: str, wanted: set[str]) -> dict[str, str]:
    """'[id] text' lines for ids in `wanted` (first line per id wins); citations inside are dropped."""
    out: dict[str, str] = {}
    for raw in reply.splitlines():
        match = _LINE.match(raw)
        if not match:
            continue
        ids = find_arxiv_ids(match.group(1))
        if len(ids) != 1 or ids[0] not in wanted or ids[0] in out:
            continue
        text, removed = scrub(match.group(2), {ids[0]})
        if removed:
            continue  # a line that cites another paper mixes papers up: not kept
        text = re.sub(r"\s*\[[^\]]*\]\s*$", "", text).strip()  # its own id again at the end
        if text:
            out[ids[0]] = text
    return out


def supported(text: str, papers: list[Paper]) -> bool:
    """Every number in `text` is stated by one of `papers` (ids inside citations are not numbers)."""
    stated = set()
    for paper in papers:
        stated |= numbers_in(paper_text(paper))
    bare = re.sub(r"\[[^\]]*\]", " ", text)
    return numbers_in(bare) <= stated
