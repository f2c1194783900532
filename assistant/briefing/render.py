"""Briefing -> Markdown, in English or Chinese. Citations are `[id]`, the table links to arXiv."""
from __future__ import annotations

from assistant.arxiv_ids import abs_url
from assistant.briefing.model import Briefing

HEADINGS = {
    "en": {"title": "{category} briefing: {label} ({n} papers)", "overview": "Overview", "themes": "Themes",
           "theme": "{name} ({n} papers)", "theme1": "{name} (1 paper)", "numbers": "Numbers worth knowing",
           "none": "No concrete numbers were reported in these papers' abstracts.",
           "table": "All papers", "cols": "| id | title | theme |", "backend": "Written by: {backend}."},
    "zh": {"title": "{category} 简报：{label}（{n} 篇论文）", "overview": "概览", "themes": "主题",
           "theme": "{name}（{n} 篇）", "theme1": "{name}（1 篇）", "numbers": "值得关注的数字",
           "none": "这些论文的摘要中没有报告具体数字。",
           "table": "全部论文", "cols": "| 编号 | 标题 | 主题 |", "backend": "生成方式：{backend}。"},
}


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def render_markdown(b: Briefing, label: str | None = None) -> str:
    h = HEADINGS[b.lang]
    out = ["# " + h["title"].format(category=b.category, label=label or b.label, n=len(b.papers)), ""]
    out += [f"## {h['overview']}", "", b.overview, ""]
    out += [f"## {h['themes']}", ""]
    for number, theme in enumerate(b.themes, 1):
        head = h["theme1"] if len(theme.papers) == 1 else h["theme"]
        out += [f"### {number}. " + head.format(name=theme.name, n=len(theme.papers)), ""]
        if theme.summary:
            out += [theme.summary, ""]
        for pid in theme.papers:
            out.append(f"- **{_cell(b.titles[pid])}**: {b.lines[pid]} [{pid}]")
        out.append("")
    out += [f"## {h['numbers']}", ""]
    out += [f"- {n.text} [{n.id}]" for n in b.numbers] or [h["none"]]
    out += ["", f"## {h['table']}", "", h["cols"], "|---|---|---|"]
    theme_of = b.theme_of()
    for pid in b.papers:
        out.append(f"| [{pid}]({abs_url(pid)}) | {_cell(b.titles[pid])} | {_cell(theme_of[pid])} |")
    out += ["", "_" + h["backend"].format(backend=b.backend) + "_", ""]
    return "\n".join(out)
