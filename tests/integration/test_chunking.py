from llama_index.core.schema import MetadataMode

from assistant.ingest.chunking import chunk_paper, chunk_to_node, embed_text, header_title
from assistant.ingest.parser import parse_digest_file
from assistant.text import split_sentences
from assistant.types import Paper
from tests.factories import FIXTURES, SHARED_DIGESTS, needs_shared

SECTIONS = ("title", "abstract", "tldr", "motivation", "method", "result", "conclusion")


def _all_papers():
    return [p for path in sorted(SHARED_DIGESTS.glob("*")) for p in parse_digest_file(path).papers]


@needs_shared
def test_no_chunk_exceeds_the_model_window_and_no_sentence_is_lost(embedder):
    limit = embedder.settings.embed_max_tokens
    for paper in _all_papers():
        chunks = chunk_paper(paper, embedder.count_tokens, limit)
        for chunk in chunks:
            assert embedder.count_tokens(embed_text(header_title(paper), chunk.text)) <= limit
        for section in SECTIONS:
            joined = " ".join(c.text for c in chunks if c.section == section)
            for sentence in split_sentences(paper.section(section)):
                assert sentence in joined, (paper.id, section, sentence[:60])


def test_what_is_embedded_is_the_stored_nodes_own_embed_rendering(embedder):
    # The vectors are computed from embed_text(); llama-index renders the stored node for embedding
    # the same way, so a llama-index retriever over the collection sees consistent vectors.
    paper = parse_digest_file(FIXTURES / "2026-01-20.md").papers[0]
    for chunk in chunk_paper(paper, embedder.count_tokens, 256):
        node = chunk_to_node(chunk, paper)
        assert node.get_content(metadata_mode=MetadataMode.EMBED) == embed_text(header_title(paper), chunk.text)


def test_chunk_ids_are_stable_and_change_with_content(embedder):
    paper = parse_digest_file(FIXTURES / "2026-01-20.md").papers[0]
    first = [c.id for c in chunk_paper(paper, embedder.count_tokens, 256)]
    again = [c.id for c in chunk_paper(paper, embedder.count_tokens, 256)]
    assert first == again
    paper.abstract = paper.abstract.replace("4.2x", "5.0x")
    edited = [c.id for c in chunk_paper(paper, embedder.count_tokens, 256)]
    assert set(first) != set(edited)
    assert {i for i in first if "#title#" in i} == {i for i in edited if "#title#" in i}


def test_a_huge_title_and_run_on_sentence_still_fit(embedder):
    paper = Paper(id="2601.99999", title="Deep " * 400, authors=["A"], category="cs.LG",
                  abstract=("word" * 30 + " ") * 300 + "end.")
    chunks = chunk_paper(paper, embedder.count_tokens, 256)
    assert all(embedder.count_tokens(embed_text(header_title(paper), c.text)) <= 256 for c in chunks)
    assert "end." in " ".join(c.text for c in chunks)


@needs_shared
def test_counting_a_papers_sentences_in_one_call_gives_the_same_chunks(embedder):
    papers = _all_papers()
    for paper in papers:
        assert chunk_paper(paper, embedder.count_tokens, 256, embedder.count_tokens_many) == \
            chunk_paper(paper, embedder.count_tokens, 256), paper.id
    # A huge title and a run-on sentence too (split by the fallback path, counted one by one).
    paper = Paper(id="2601.99999", title="Deep " * 400, authors=["A"], category="cs.LG",
                  abstract=("word" * 30 + " ") * 300 + "end.")
    assert chunk_paper(paper, embedder.count_tokens, 256, embedder.count_tokens_many) == \
        chunk_paper(paper, embedder.count_tokens, 256)
