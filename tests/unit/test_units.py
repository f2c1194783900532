"""Fast unit layer for the steps between retrieval and the answer: fusion of the two retrievers and
citation checking (no embedding model, no store)."""
import json
from functools import partial

from assistant.answer.citations import verify_citations
from assistant.answer.evidence import TermWeights
from assistant.ingest.store import StoredChunk
from assistant.search.lexical import LexicalIndex
from assistant.search.retrieval import fuse
from assistant.text import numbers_in
from assistant.types import Passage, Source
from tests.factories import paper

paper = partial(paper, authors=["A B"])


CATALOG = {p.id: p for p in [
    paper("2601.00001", "KV cache eviction", "We evict 80% of the KV cache and keep 99% accuracy."),
    paper("2601.00002", "Learned joins", "Cardinality estimation for joins cuts q-error from 12.4 to 1.8."),
    paper("2601.00003", "Graph indexes", "Filtered vector search 5.6x faster."),
]}


def passage(pid, score):
    return (pid, Passage(f"{pid}#abstract#x", "abstract", CATALOG[pid].abstract, score))


def test_fusion_ranks_a_paper_both_retrievers_find_first_and_pins_named_ids():
    rankings = {"dense": [passage("2601.00002", 0.8), passage("2601.00001", 0.7)],
                "lexical": [passage("2601.00001", 9.0), passage("2601.00003", 5.0)]}
    sources = fuse(rankings, [], {"dense": 1.0, "lexical": 1.0}, CATALOG, 60)
    assert [s.id for s in sources] == ["2601.00001", "2601.00002", "2601.00003"]
    assert sources[0].matched_by == ["dense", "lexical"]
    assert {k: sources[0].evidence[k] for k in ("dense", "lexical")} == {"dense": 0.7, "lexical": 9.0}
    pinned = fuse(rankings, ["2601.00003"], {"dense": 1.0, "lexical": 1.0}, CATALOG, 60)
    assert pinned[0].id == "2601.00003" and pinned[0].score == 1.0 and pinned[0].matched_by[0] == "id"
    # A retriever whose vote is turned down (dense for a Chinese question) no longer decides the order.
    muted = fuse(rankings, [], {"dense": 0.0, "lexical": 1.0}, CATALOG, 60)
    assert muted[0].id == "2601.00001" and muted[1].id == "2601.00003"


def _weights():
    chunks = [StoredChunk(f"{p.id}#abstract#x", p.id, "abstract", p.abstract) for p in CATALOG.values()]
    return TermWeights(LexicalIndex(chunks))


def test_citations_outside_the_sources_are_removed_and_numbers_checked():
    sources = [Source(paper=CATALOG["2601.00001"], score=1.0), Source(paper=CATALOG["2601.00002"], score=0.5)]
    text = ("KV cache eviction keeps 99% accuracy [2601.00001]. Joins reach q-error 1.8 [2601.00002, 2601.09999]. "
            "Eviction keeps 97% accuracy [2601.00001].")
    verified = verify_citations(text, sources, _weights())
    assert verified.cited_ids == ["2601.00001", "2601.00002"]
    assert verified.removed_ids == ["2601.09999"] and "2601.09999" not in verified.text
    unsupported = [c for c in verified.citations if not c.supported]
    assert len(unsupported) == 1 and "97" in unsupported[0].reason  # a number the paper does not state
    assert all(n.kind == "warning" for n in verified.notices)


def test_a_sentence_whose_only_citation_was_removed_is_marked_not_passed_off_as_checked():
    sources = [Source(paper=CATALOG["2601.00001"], score=1.0)]
    text = ("KV cache eviction keeps 99% accuracy [2601.00001]. A famous paper also evicts entries [2401.00001].\n"
            "- Eviction of KV cache entries [2601.00001, 2401.00002].")
    verified = verify_citations(text, sources, _weights())
    assert verified.removed_ids == ["2401.00001", "2401.00002"]
    lines = verified.text.split("\n")
    # The sentence that cited only the unknown paper keeps its words, flagged; it is not checked against
    # the paragraph's other citation (its claim was never about 2601.00001).
    assert lines[0] == "KV cache eviction keeps 99% accuracy [2601.00001]. A famous paper also evicts entries. ⚠"
    assert lines[1] == "- Eviction of KV cache entries [2601.00001]."  # a valid citation is left: checked as usual
    flagged = [c for c in verified.citations if not c.supported]
    assert [c.reason for c in flagged] == ["its citation of 2401.00001 was removed (not among the sources)"]
    assert "\ue000" not in verified.text and "2401.00001" not in verified.text


def test_numbers_are_read_the_same_in_any_spelling():
    assert numbers_in("a 4.2x saving") == numbers_in("a 4.2× saving") == numbers_in(r"a 4.2$\times$ saving")


def test_every_command_the_parser_offers_has_its_handler():
    from assistant.cli.commands import COMMANDS, build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) == set(COMMANDS)
    assert {"ingest", "ask", "chat", "eval", "brief", "ui", "new", "watch", "show", "mcp"} <= set(COMMANDS)


def test_a_text_chunk_reads_from_its_json_literal_and_a_damaged_one_reads_as_no_text():
    from assistant.ingest.store import _text_of

    assert _text_of({"text": json.dumps("联邦学习 with LoRA")}) == "联邦学习 with LoRA"
    for damaged in ({"text": "not json"}, {"text": "[1, 2]"}, {"text": 7}, {}, None):
        assert _text_of(damaged) == ""


class _WordEmbedder:
    """A stand-in model: a text's vector is the bag of its words hashed into 256 dimensions (unit
    length), so two texts are close exactly when they share words."""

    def embed_texts(self, texts, bulk=False):
        import re
        import zlib

        import numpy as np

        out = np.zeros((len(texts), 256), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9-]+", text.lower()):
                if word != "title":  # the header every embedded text starts with
                    out[row, zlib.crc32(word.encode()) % 256] += 1
        return (out / np.linalg.norm(out, axis=1, keepdims=True)).tolist()


def test_a_fact_question_is_answered_when_the_top_paper_states_or_resembles_it_and_declined_otherwise():
    from assistant.answer.answerers.extractive import ExtractiveAnswerer
    from assistant.search.question import Analysis

    answerer = ExtractiveAnswerer(_WordEmbedder(), _weights())
    # A passage far from the question and a paper that does not stand out: only the title,
    # embedded now, can vouch for the paper (the calibrated model of assistant/data/relevance.json).
    source = Source(paper=CATALOG["2601.00001"], score=1.0, evidence={"dense": 0.2, "dense_local": 2.5})
    english = Analysis(language="en", content_terms=["kv", "cache", "eviction"])
    features = answerer.answerability("kv cache eviction", english, source)
    assert features["title"] > 0.5 and features["closest"] == features["title"]
    assert answerer.is_answerable("kv cache eviction", english, source)
    far = Analysis(language="en", content_terms=["sourdough", "bread", "fermentation"])
    assert not answerer.is_answerable("sourdough bread fermentation", far, source)
    # The model reads no Chinese: a Chinese question is judged by the terms the paper states.
    chinese = Analysis(language="zh", content_terms=["酸面包"])
    assert answerer.answerability("酸面包", chinese, source)["closest"] == 0.0
    assert not answerer.is_answerable("酸面包", chinese, source)


def test_a_question_names_the_paper_when_any_of_its_rarest_terms_is_in_the_title():
    from assistant.answer.answerers.extractive import ExtractiveAnswerer
    from assistant.search.lexical import tokenize
    from assistant.search.question import Analysis

    answerer = ExtractiveAnswerer(_WordEmbedder(), _weights())
    joins = CATALOG["2601.00002"]
    # "q-error" and "joins" are each stated by one passage only: as rare as each other, and the one
    # in the title names the paper whichever of the two comes first in the question.
    for question in ("q-error joins", "joins q-error"):
        analysis = Analysis(language="en", content_terms=tokenize(question))
        assert answerer.names_the_paper(analysis, joins) == 1.0
    # The rarest terms outside the title do not name it.
    assert answerer.names_the_paper(Analysis(language="en", content_terms=tokenize("q-error joins")),
                                    CATALOG["2601.00003"]) == 0.0
    # Rarity counts papers: a name is in every passage of its paper (here three), a common word in
    # fewer passages but of more papers.
    squeeze = paper("2601.00009", "KVSqueeze: low-rank KV caches", "")
    chunks = [StoredChunk(f"2601.00009#abstract#{i}", "2601.00009", "abstract", f"KVSqueeze part {i}.") for i in range(3)]
    chunks += [StoredChunk(f"{pid}#abstract#x", pid, "abstract", "It saves memory.") for pid in ("2601.00001", "2601.00002")]
    named = ExtractiveAnswerer(_WordEmbedder(), TermWeights(LexicalIndex(chunks)))
    assert named.names_the_paper(Analysis(language="en", content_terms=tokenize("How much memory does KVSqueeze save?")),
                                 squeeze) == 1.0
