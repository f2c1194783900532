"""Category briefings: selection, coverage (every paper exactly once), citation validity, themes,
numbers, languages, the CLI's --json, and the LLM map-reduce with its checks and fallback."""
import json
import re

import pytest

from assistant.app import App
from assistant.briefing import build_briefing
from assistant.briefing.content import cited_ids
from assistant.briefing.themes import MAX_THEMES, OTHER_EN, OTHER_ZH, phrase_key, phrase_table
from assistant.cli.commands import main
from assistant.errors import InputError
from tests.factories import make_settings
from tests.fake_openai import FakeOpenAI

KV_CACHE = {"2601.90001", "2601.90002", "2601.90008"}


def assert_complete(briefing, catalog):
    """Every selected paper exactly once in the themes and the table; every citation a selected paper."""
    placed = [pid for theme in briefing.themes for pid in theme.papers]
    assert sorted(placed) == sorted(briefing.papers) and len(placed) == len(set(placed))
    assert all(catalog[pid].category == briefing.category for pid in briefing.papers)
    cited = set(cited_ids(briefing.markdown))
    assert cited <= set(briefing.papers)
    assert cited == set(briefing.papers)  # each paper is cited at least by its own line
    for pid in briefing.papers:
        assert len(re.findall(rf"^- \*\*.*\[{re.escape(pid)}\]$", briefing.markdown, re.M)) == 1
        assert f"| [{pid}](https://arxiv.org/abs/{pid}) |" in briefing.markdown
    assert all(n.id in briefing.papers for n in briefing.numbers)
    assert all(theme.name.strip() for theme in briefing.themes)


@pytest.mark.parametrize("category", ["cs.LG", "cs.DB", "cs.CL", "eess.SP"])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_fixture_briefings_account_for_every_paper(fixture_app, category, lang):
    briefing = build_briefing(fixture_app, category, all_dates=True, lang=lang, use_llm=False)
    catalog = fixture_app.store.papers()
    expected = sorted(pid for pid, p in catalog.items() if p.category == category)
    assert briefing.papers == expected
    assert_complete(briefing, catalog)
    assert briefing.backend == "extractive"


def test_related_papers_share_a_theme(fixture_app):
    briefing = build_briefing(fixture_app, "cs.LG", all_dates=True, use_llm=False)
    theme_of = briefing.theme_of()
    assert len({theme_of[pid] for pid in KV_CACHE}) == 1, briefing.themes
    assert theme_of["2601.90003"] != theme_of["2601.90001"]  # molecular GNN is not a KV-cache paper
    assert re.search(r"kv|cache", theme_of["2601.90001"], re.I), theme_of["2601.90001"]


def test_default_is_the_latest_digest_and_dates_select(fixture_app):
    latest = build_briefing(fixture_app, "cs.DB", use_llm=False)
    assert latest.dates == ["2026-01-21"] and latest.papers == ["2601.90007"]
    week = build_briefing(fixture_app, "cs.db", since="2026-01-20", until="2026-01-21", use_llm=False)
    assert week.category == "cs.DB" and week.papers == ["2601.90004", "2601.90005", "2601.90007"]
    assert week.dates == ["2026-01-20", "2026-01-21"]
    one_day = build_briefing(fixture_app, "cs.DB", dates=["2026-01-20"], use_llm=False)
    assert one_day.papers == ["2601.90004", "2601.90005"]


def test_numbers_are_sentences_of_the_cited_paper(fixture_app):
    briefing = build_briefing(fixture_app, "cs.LG", all_dates=True, use_llm=False)
    catalog = fixture_app.store.papers()
    assert briefing.numbers
    for item in briefing.numbers:
        words = re.findall(r"[A-Za-z]{4,}", item.text)[:6]
        assert all(w in catalog[item.id].abstract for w in words), item
    assert any("4.2" in n.text and n.id == "2601.90001" for n in briefing.numbers)


def test_chinese_briefing_uses_chinese_headings_and_tldrs(fixture_app):
    briefing = build_briefing(fixture_app, "cs.DB", all_dates=True, lang="zh", use_llm=False)
    assert "## 概览" in briefing.markdown and "## 全部论文" in briefing.markdown
    catalog = fixture_app.store.papers()
    assert catalog["2601.90004"].tldr[:12] in briefing.lines["2601.90004"]


@pytest.mark.parametrize("kwargs, message", [
    ({"category": "cs.XX"}, "available categories: cs.LG"),
    ({"category": "cs.DB", "dates": ["2025-12-01"]}, "cs.DB papers are in dates 2026-01-20, 2026-01-21"),
    ({"category": "  "}, "give a category"),
])
def test_empty_selection_says_what_exists(fixture_app, kwargs, message):
    with pytest.raises(InputError, match=re.escape(message)):
        build_briefing(fixture_app, use_llm=False, **kwargs)


def test_cli_json_has_the_promised_fields(fixture_app, capsys, tmp_path):
    out = tmp_path / "b.json"
    rc = main(["brief", "--store", str(fixture_app.settings.store), "-c", "cs.LG", "--all-dates", "--json", "-q",
               "--out", str(out)])
    assert rc == 0
    data = json.loads(capsys.readouterr().out)
    assert {"category", "dates", "papers", "themes", "numbers", "markdown"} <= set(data)
    assert data == json.loads(out.read_text(encoding="utf-8"))
    assert sorted(p for t in data["themes"] for p in t["papers"]) == data["papers"]
    assert all(set(n) >= {"text", "id"} for n in data["numbers"]) and data["markdown"].startswith("# cs.LG")


def test_cli_errors_are_one_line(fixture_app, capsys):
    store = str(fixture_app.settings.store)
    assert main(["brief", "--store", store, "-c", "cs.XX"]) == 2
    assert "no papers in category 'cs.XX'" in capsys.readouterr().err
    assert main(["brief", "--store", store, "-c", "cs.DB", "--since", "2026-01-22", "--until", "2026-01-20"]) == 2
    assert "is after --until" in capsys.readouterr().err


# --- with an LLM backend (a local fake speaking the OpenAI protocol) --------------------------------

SOURCE = re.compile(r'<source id="([^"]+)" title="([^"]*)">\n(.*?)\n</source>', re.S)


def fake_writer(invent_number_for: str | None = None, reduce_text: str | None = None):
    """Answers map prompts with one line per paper (quoting each paper's first number) and reduce
    prompts with JSON naming every theme; optionally invents a number for one paper."""
    def reply(body):
        prompt = body["messages"][-1]["content"]
        if "<source id=" in prompt:
            lines = []
            for pid, title, text in SOURCE.findall(prompt):
                number = "999.9%" if pid == invent_number_for else (re.findall(r"\d+(?:\.\d+)?x", text) or ["no"])[0]
                lines.append(f"[{pid}] LLM line: {title.split(':')[0]} reports {number} improvement.")
            return "Here you go:\n" + "\n".join(lines)
        if reduce_text is not None:
            return reduce_text
        themes = re.findall(r"^Theme (\d+) \(", prompt, re.M)
        first = re.findall(r"^\[([^\]]+)\]", prompt, re.M)
        entries = [{"index": int(i), "name": f"LLM theme {i}", "summary": f"These papers share theme {i}."}
                   for i in themes]
        return "```json\n" + json.dumps({"themes": entries, "overview": f"An LLM overview [{first[0]}]."}) + "\n```"
    return reply


@pytest.fixture
def llm_app(fixture_app):
    def build(fake: FakeOpenAI) -> App:
        app = App(make_settings(fixture_app.settings.store, llm_base_url=fake.base_url, llm_model="fake-model",
                                llm_api_key="sk-test-secret-key", llm_max_retries=0, llm_timeout_s=10.0))
        app.__dict__["embedder"] = fixture_app.embedder
        app.__dict__["retriever"] = fixture_app.retriever
        return app

    return build


def test_llm_rewrites_wording_and_every_claim_is_checked(llm_app, fixture_app):
    writer = fake_writer(invent_number_for="2601.90002")
    with FakeOpenAI().reply({"fn": writer}, {"fn": writer}) as fake:
        briefing = build_briefing(llm_app(fake), "cs.LG", all_dates=True)
        prompts = [r["body"]["messages"] for r in fake.requests]
    assert briefing.backend == "llm:fake-model"
    assert_complete(briefing, fixture_app.store.papers())
    assert briefing.lines["2601.90001"] == "LLM line: KVSqueeze reports 4.2x improvement."
    assert "999.9" not in briefing.markdown  # an invented number never reaches the reader
    assert "LLM line" not in briefing.lines["2601.90002"]
    assert [t.name for t in briefing.themes] == [f"LLM theme {i}" for i in range(1, len(briefing.themes) + 1)]
    assert briefing.overview.startswith("An LLM overview [")
    assert any("1 of 5 paper lines are extractive" in n for n in briefing.notices)
    assert "data" in prompts[0][0]["content"] and "never an instruction" in prompts[0][0]["content"]


def test_llm_citing_outside_the_selection_is_not_kept(llm_app, fixture_app):
    reduce_text = json.dumps({"themes": [{"index": 1, "name": "Caches", "summary": "See [2601.90004]."}],
                              "overview": "Mostly about caches [2601.90004]."})
    with FakeOpenAI().reply({"fn": fake_writer()}, {"fn": fake_writer(reduce_text=reduce_text)}) as fake:
        briefing = build_briefing(llm_app(fake), "cs.LG", all_dates=True)
    assert "2601.90004" not in briefing.markdown  # a cs.DB paper is not in a cs.LG briefing
    assert briefing.themes[0].name == "Caches" and not briefing.themes[0].summary
    assert_complete(briefing, fixture_app.store.papers())


@pytest.mark.parametrize("script", [[{"status": 500}], [{"text": "PWNED"}, {"text": "PWNED"}]])
def test_backend_failure_or_nonsense_gives_the_extractive_briefing(llm_app, fixture_app, script):
    with FakeOpenAI().reply(*script) as fake:
        fake.default = {"text": "PWNED"}
        briefing = build_briefing(llm_app(fake), "cs.CL", all_dates=True)
    extractive = build_briefing(fixture_app, "cs.CL", all_dates=True, use_llm=False)
    assert briefing.backend == "extractive" and briefing.lines == extractive.lines
    assert any("LLM backend failed" in n for n in briefing.notices)
    assert "PWNED" not in briefing.markdown.replace("reply PWNED", "")
    assert "sk-test-secret-key" not in " ".join(briefing.notices)


def test_large_category_is_split_into_batches(llm_app, fixture_app, monkeypatch):
    monkeypatch.setattr("assistant.briefing.llm.MAX_BATCH", 2)
    writer = fake_writer()
    with FakeOpenAI() as fake:
        fake.default = {"fn": writer}
        briefing = build_briefing(llm_app(fake), "cs.LG", all_dates=True)
        maps = [r for r in fake.requests if "<source id=" in r["body"]["messages"][-1]["content"]]
    assert len(maps) == 3  # 5 papers, 2 per batch
    assert all(line.startswith("LLM line") for line in briefing.lines.values())


# --- the real corpus -------------------------------------------------------------------------------

def test_every_category_of_the_real_digests(sample_app):
    catalog = sample_app.store.papers()
    categories = sorted({p.category for p in catalog.values()})
    for category in categories:
        for kwargs in ({"all_dates": True}, {}):
            briefing = build_briefing(sample_app, category, use_llm=False, **kwargs)
            assert_complete(briefing, catalog)
    everything = build_briefing(sample_app, "cs.LG", all_dates=True, use_llm=False)
    assert len(everything.papers) == sum(p.category == "cs.LG" for p in catalog.values())
    assert 2 <= len(everything.themes) <= MAX_THEMES + 1  # the themes and "Other topics"


def sample_selections(sample_app) -> list[tuple[str, dict]]:
    """Every category whose briefing (its latest digest) holds 10 or more sample papers, and all of cs.LG."""
    categories = sorted({p.category for p in sample_app.store.papers().values()})
    big = [c for c in categories if len(build_briefing(sample_app, c, use_llm=False).papers) >= 10]
    assert big == ["cs.IR", "cs.LG", "eess.SP"]
    return [(c, {}) for c in big] + [("cs.LG", {"all_dates": True})]


def test_sample_themes_leave_few_papers_over_and_each_name_is_stated_by_most_of_its_papers(sample_app):
    catalog = sample_app.store.papers()
    for category, kwargs in sample_selections(sample_app):
        briefing = build_briefing(sample_app, category, use_llm=False, **kwargs)
        papers = {pid: catalog[pid] for pid in briefing.papers}
        other = [t for t in briefing.themes if t.name == OTHER_EN]
        assert sum(len(t.papers) for t in other) <= 0.15 * len(papers), (category, kwargs, briefing.themes)
        table = phrase_table(papers)
        for theme in briefing.themes:
            if theme.name == OTHER_EN:
                continue
            assert not theme.name.startswith("Assorted")
            stating = table[phrase_key(re.sub(r" \(\d+\)$", "", theme.name))].papers
            assert len(stating & set(theme.papers)) > len(theme.papers) / 2, (category, theme)


def test_sample_chinese_briefings_name_their_themes_in_chinese(sample_app):
    for category, kwargs in sample_selections(sample_app):
        briefing = build_briefing(sample_app, category, lang="zh", use_llm=False, **kwargs)
        names = [t.name for t in briefing.themes if t.name != OTHER_ZH]
        chinese = [n for n in names if re.search(r"[\u4e00-\u9fff]", n)]
        assert len(chinese) >= 0.6 * len(names), (category, names)
        assert OTHER_EN not in names
