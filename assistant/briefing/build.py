"""Build a briefing: select -> group by embedding -> name themes -> one line per paper -> numbers
-> overview -> (optional LLM rewrite, checked) -> coverage check -> Markdown.

The structure (which paper sits in which theme, which papers are selected) is always computed in
code, so coverage is complete by construction and then checked anyway; an LLM, when configured,
only rewrites wording (theme names, per-paper lines, the overview), and every citation and number
it writes is checked against the selected papers before it is kept.
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable

import numpy as np

from assistant.briefing.content import number_sentence, numbers_limit, paper_line, scrub, title
from assistant.briefing.model import Briefing, NumberItem, Theme
from assistant.briefing.render import render_markdown
from assistant.briefing.selection import select
from assistant.briefing.themes import OTHER_EN, OTHER_ZH, ChineseNamer, Rarity, find_themes
from assistant.errors import DigestQAError, InputError
from assistant.search.vocabulary import category_names
from assistant.text import clean_latex
from assistant.types import Paper, warning

Progress = Callable[[str, int, int], None]  # (stage, done, total)
ENGLISH_SECTIONS = ("title", "abstract")  # the embedding model reads English: the Chinese chunks add noise


def build_briefing(app, category: str, *, dates=(), since: str | None = None, until: str | None = None,
                   digests=(), all_dates: bool = False, lang: str = "en", use_llm: bool | None = None,
                   progress: Progress | None = None) -> Briefing:
    """The briefing of one category over the selected digests (default: the latest one).

    Raises InputError with a message that says what exists when the selection is empty."""
    if lang not in ("en", "zh"):
        raise InputError(f"unknown language '{lang}' (choose en or zh)")
    timings: dict[str, float] = {}
    started = time.perf_counter()
    report = progress or (lambda stage, done, total: None)

    catalog = app.catalog()
    known = app.digests()
    selection = select(catalog, category, dates, since, until, digests, all_dates, known)
    papers = {pid: catalog[pid] for pid in selection.ids}
    timings["select_s"] = time.perf_counter() - started
    report("grouping papers", 0, 1)

    mark = time.perf_counter()
    found = find_themes(papers, english_vectors(app.store, selection.ids), Rarity(catalog))
    namer = ChineseNamer(papers) if lang == "zh" else None
    themes = [Theme(namer.name(topic, rows) if namer else topic.name, rows) for topic, rows in found.groups]
    if found.leftovers:  # beside themes, "Other topics"; alone (a paper or two), the category's own name
        themes.append(Theme(OTHER_ZH if lang == "zh" else OTHER_EN, found.leftovers) if themes
                      else Theme(category_title(selection.category, lang), found.leftovers))
    dedupe_names(themes)
    timings["themes_s"] = time.perf_counter() - mark
    report("grouping papers", 1, 1)

    lines = {pid: paper_line(paper, lang) for pid, paper in papers.items()}
    numbers = pick_numbers(papers, lang)
    briefing = Briefing(category=selection.category, dates=selection.dates, digests=selection.digests,
                        label=selection.label_zh if lang == "zh" else selection.label, lang=lang,
                        papers=selection.ids, titles={pid: title(p) for pid, p in papers.items()},
                        overview=extractive_overview(selection.category, selection.label_zh if lang == "zh"
                                                     else selection.label, themes, numbers, lang),
                        themes=themes, lines=lines, numbers=numbers, backend="extractive",
                        notices=list(selection.notices),
                        digest_labels={d: known.label(d) for d in selection.digests})

    if use_llm is None:
        use_llm = app.settings.uses_llm
    if use_llm:
        # The answerers' package (~80 ms of imports): an extractive briefing, the default, needs none of it
        from assistant.briefing.llm import BriefingWriter

        mark = time.perf_counter()
        try:
            BriefingWriter(app.settings).rewrite(briefing, papers, report)
        except DigestQAError as exc:  # the extractive briefing stands; say why the LLM did not write it
            briefing.notices.append(warning(f"the LLM backend failed ({exc}); this briefing is extractive"))
        timings["llm_s"] = time.perf_counter() - mark

    check_coverage(briefing)
    briefing.markdown = render_markdown(briefing)
    cleaned, removed = scrub(briefing.markdown, set(briefing.papers))
    if removed:  # an abstract quoting another arXiv id, say: never cite outside the selection
        briefing.markdown = cleaned
        briefing.notices.append(warning(f"removed citations of papers outside the selection: {', '.join(sorted(set(removed)))}"))
    timings["total_s"] = time.perf_counter() - started
    briefing.timings = timings
    return briefing


def english_vectors(store, ids: list[str]) -> dict[str, np.ndarray]:
    """Mean embedding of each paper's title and abstract chunks (its paper vector when it has none)."""
    chunks = [c for c in store.chunks_of(ids) if c.section in ENGLISH_SECTIONS]
    embeddings = store.chunk_embeddings([c.id for c in chunks])
    grouped: dict[str, list] = {}
    for chunk in chunks:
        if chunk.id in embeddings:
            grouped.setdefault(chunk.paper_id, []).append(embeddings[chunk.id])
    vectors = {pid: np.mean(np.asarray(rows, dtype=np.float32), axis=0) for pid, rows in grouped.items()}
    missing = [pid for pid in ids if pid not in vectors]
    if missing:
        vectors.update(store.paper_vectors(missing))
    return vectors


def category_title(category: str, lang: str) -> str:
    """'Performance' for cs.PF, '数据库' for cs.DB in Chinese; the code where no plain name is known."""
    names = category_names().get(category, ())
    chinese = [n for n in names if re.search(r"[\u3400-\u9fff]", n)]
    english = [n for n in names if n not in chinese]
    if lang == "zh" and chinese:
        return chinese[0]
    return english[0][:1].upper() + english[0][1:] if english else category


def dedupe_names(themes: list[Theme]) -> None:
    seen: dict[str, int] = {}
    for theme in themes:
        count = seen.get(theme.name.casefold(), 0) + 1
        seen[theme.name.casefold()] = count
        if count > 1:
            theme.name = f"{theme.name} ({count})"


def pick_numbers(papers: dict[str, Paper], lang: str) -> list[NumberItem]:
    """The most concrete quantitative sentence of each paper, strongest first, at most one per paper."""
    scored = []
    for pid, paper in papers.items():
        found = number_sentence(paper, lang)
        if found:
            scored.append((found[0], pid, found[1]))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [NumberItem(text, pid) for _, pid, text in scored[: numbers_limit(len(papers))]]


def extractive_overview(category: str, label: str, themes: list[Theme], numbers: list[NumberItem], lang: str) -> str:
    n = sum(len(t.papers) for t in themes)
    named = [t for t in themes if t.name not in (OTHER_EN, OTHER_ZH)]
    top = named[:4]
    if lang == "zh":
        parts = "、".join(f"{t.name}（{len(t.papers)} 篇，如 [{t.papers[0]}]）" for t in top)
        text = f"本简报涵盖{label}中的 {n} 篇 {category} 论文，按内容相似度分为 {len(themes)} 个主题。"
        if top:
            text += f"较大的主题有：{parts}。"
        if numbers:
            text += f"其中 {len({x.id for x in numbers})} 篇给出了值得关注的具体数字，列在下方。"
        return text
    parts = ", ".join(f"{t.name} ({len(t.papers)}, e.g. [{t.papers[0]}])" for t in top)
    text = (f"{n} {category} paper{'s' if n != 1 else ''} from {label}, grouped by similarity into "
            f"{len(themes)} theme{'s' if len(themes) != 1 else ''}.")
    if top:
        text += f" The largest: {parts}."
    if numbers:
        text += f" {len({x.id for x in numbers})} of them report concrete results worth knowing, listed below."
    return text


def check_coverage(briefing: Briefing) -> None:
    """Every selected paper exactly once across the themes, and nothing else; a line for each."""
    placed = [pid for theme in briefing.themes for pid in theme.papers]
    selected = set(briefing.papers)
    duplicates = sorted({pid for pid in placed if placed.count(pid) > 1})
    missing = sorted(selected - set(placed))
    extra = sorted(set(placed) - selected)
    if duplicates or missing or extra or any(not theme.papers for theme in briefing.themes):
        raise AssertionError(f"briefing coverage broken: missing {missing}, duplicated {duplicates}, "
                             f"not selected {extra}")
    for pid in briefing.papers:
        if not briefing.lines.get(pid):
            briefing.lines[pid] = clean_latex(briefing.titles[pid])
    briefing.numbers = [n for n in briefing.numbers if n.id in selected]
