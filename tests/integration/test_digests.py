"""Readable digest labels and the "latest digest" rule (assistant/digests.py): no model, no store."""
from assistant.briefing.selection import select
from assistant.digests import DigestCatalog, DigestInfo, id_range, readable_stem
from assistant.ingest.parser import date_in_header, parse_digest_text
from assistant.types import Digest, Paper
from tests import factories

SAMPLE = "004_bb134045811f6403"  # how the real sample digests are named


def paper(pid: str, digests: list[str], dates: list[str] = (), category: str = "cs.LG") -> Paper:
    """A paper listed in `digests` (on `dates`)."""
    return factories.paper(pid, f"Paper {pid}", category=category, digests=list(digests), dates=list(dates))


def test_the_stem_loses_its_hash_and_keeps_its_words():
    assert readable_stem(SAMPLE) == "004"
    assert readable_stem("cs-weekly_2a9f33c1d0e4") == "cs weekly"
    assert readable_stem("20260122") == "20260122"  # digits only: may be a date or a serial, kept
    assert readable_stem("deadbeefcafe") == ""


def test_id_range_masks_the_last_digits_and_skips_old_style_ids():
    assert id_range(["2601.19897", "2601.18800", "2601.19001"]) == "2601.18xxx–2601.19xxx"
    assert id_range(["2601.18800", "2601.18999"]) == "2601.18xxx"
    assert id_range(["hep-th/9901001"]) == ""


def test_undated_digests_get_a_short_and_a_descriptive_label():
    papers = [paper("2601.18800", [SAMPLE]), paper("2601.19897", [SAMPLE]),
              paper("2601.07838", ["001_a3d9625a9b70686e"])]
    known = DigestCatalog.build(papers, {SAMPLE: {"order": 2}, "001_a3d9625a9b70686e": {"order": 1}})
    assert known.short(SAMPLE) == "digest 004"
    assert known.label(SAMPLE) == "digest 004 · 2 papers · 2601.18xxx–2601.19xxx"
    assert known.label(SAMPLE, "zh") == "摘要 004 · 2 篇 · 2601.18xxx–2601.19xxx"
    assert SAMPLE in known.hover(SAMPLE)  # the full name stays reachable
    assert known.paper_labels(papers[0]) == ["digest 004"]
    assert known.resolve("digest 004") == known.resolve("004") == known.resolve(SAMPLE) == SAMPLE
    assert known.resolve("digest 9") is None


def test_a_known_date_is_the_label_from_the_name_the_record_or_the_papers():
    papers = [paper("2601.1", ["2026-01-20"], ["2026-01-20"]), paper("2601.2", ["x"], ["2026-01-22"]),
              paper("2601.3", ["y"], ["2026-01-23"])]
    known = DigestCatalog.build(papers, {"x": {"date": "2026-01-22", "order": 1}})
    assert [known.label(n) for n in ("2026-01-20", "x", "y")] == ["2026-01-20", "2026-01-22", "2026-01-23"]


def test_two_digests_of_one_day_stay_distinguishable():
    known = DigestCatalog([DigestInfo("2026-01-22_cs", "2026-01-22", 3), DigestInfo("2026-01-22_math", "2026-01-22", 2)])
    assert (known.short("2026-01-22_cs"), known.short("2026-01-22_math")) == ("2026-01-22 (cs)", "2026-01-22 (math)")


def test_latest_is_by_date_when_every_digest_has_one():
    known = DigestCatalog([DigestInfo("b", "2026-01-21", order=1), DigestInfo("a", "2026-01-22", order=2),
                           DigestInfo("c", "2026-01-20", order=3)])
    assert known.latest() == ("a", "date")
    assert known.ordered()[0] == ["c", "b", "a"]


def test_latest_is_by_ingest_order_otherwise_and_by_name_without_a_record():
    known = DigestCatalog([DigestInfo("zzz", None, order=1), DigestInfo("aaa", None, order=2),
                           DigestInfo("mmm", "2026-01-30", order=3)])
    assert known.latest(["zzz", "aaa"]) == ("aaa", "ingest")  # ingested later, though it sorts first
    assert known.latest() == ("mmm", "ingest-mixed")
    assert "ingest order" in known.describe_rule("ingest") and "not every" in known.describe_rule("ingest-mixed")
    legacy = DigestCatalog([DigestInfo("000_x"), DigestInfo("004_y")])
    assert legacy.latest() == ("004_y", "name")
    # An old store that then ingested one more digest: the recorded one is the latest.
    grown = DigestCatalog([DigestInfo("zz_old"), DigestInfo("aa_new", order=1)])
    assert grown.latest() == ("aa_new", "ingest")


def test_a_date_in_the_header_dates_the_digest():
    assert date_in_header(["# arXiv digest 2026-01-22", ""]) == "2026-01-22"
    assert date_in_header(["# Table of Contents", "2026-13-45"]) is None
    text = ("# Daily digest for 2026-01-19\n\n### [1] [T](https://arxiv.org/abs/2601.00001)\n*A*\n\n"
            "Main category: cs.LG\n\nAbstract: x 2026-02-02\n")
    parsed = parse_digest_text(text, "f.md", Digest("f"))
    assert parsed.digest.date == "2026-01-19" and parsed.papers[0].dates == ["2026-01-19"]
    named = parse_digest_text(text, "f.md", Digest("f", "2026-01-25"))  # --date / the file name win
    assert named.papers[0].dates == ["2026-01-25"]


def test_the_briefing_names_the_latest_undated_digest_and_its_rule():
    papers = {p.id: p for p in [paper("2601.07838", ["001_a3d9625a9b70686e"]), paper("2601.18800", [SAMPLE]),
                                paper("2601.18801", [SAMPLE], category="cs.DB")]}
    known = DigestCatalog.build(papers.values(), {"001_a3d9625a9b70686e": {"order": 2}, SAMPLE: {"order": 1}})
    chosen = select(papers, "cs.LG", known=known)
    assert chosen.ids == ["2601.07838"]  # ingested last, although its file name sorts first
    assert chosen.label == "digest 001 · 2601.07xxx"
    assert any("by ingest order" in n for n in chosen.notices)
    db = select(papers, "cs.DB", known=known)
    assert db.label == "digest 004 · 2601.18xxx" and "bb1340" not in db.label
    assert any("latest digest (digest 001" in n for n in db.notices)


def test_ingest_records_the_order_and_the_cli_shows_labels(fresh_app, copy_fixture, capsys):
    """Real stack: two undated digests ingested one after the other; the later one is 'latest'
    although its name sorts first, and `papers --json` carries the labels beside the names."""
    import json

    from assistant.cli.commands import main

    fresh_app.ingest([copy_fixture("latex_unicode.md", "zz_later_9f8e7d6c5b4a.md")])
    fresh_app.ingest([copy_fixture("injection.md", "aa_first_1a2b3c4d5e6f.md")])
    records = fresh_app.store.digest_records()
    assert records["zz_later_9f8e7d6c5b4a"]["order"] == 1 and records["aa_first_1a2b3c4d5e6f"]["order"] == 2
    known = fresh_app.digests()
    assert known.latest() == ("aa_first_1a2b3c4d5e6f", "ingest")
    assert known.short("zz_later_9f8e7d6c5b4a") == "zz later"
    assert main(["papers", "--json", "--store", str(fresh_app.settings.store)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(r["digest_labels"] and "9f8e7d" not in " ".join(r["digest_labels"]) for r in rows)
    assert all(r["digests"][0] in ("zz_later_9f8e7d6c5b4a", "aa_first_1a2b3c4d5e6f") for r in rows)
