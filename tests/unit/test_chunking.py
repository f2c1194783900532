from assistant.ingest.chunking import chunk_paper
from assistant.text import split_sentences
from assistant.types import Paper


def test_sentence_splitter_handles_english_chinese_and_abbreviations():
    text = "We use e.g. transformers. Results improve by 3.5%. 本文提出方法。结果提升了50%！"
    assert split_sentences(text) == ["We use e.g. transformers.", "Results improve by 3.5%.", "本文提出方法。", "结果提升了50%！"]


def test_batch_counts_that_do_not_add_up_are_redone_with_the_title():
    # A counter for which "title + sentence" is not header + sentence: prefetch must notice and
    # count the full texts, so the chunks match those of the one-by-one counter.
    def count(text):
        return len(text.split()) + (5 if text.startswith("title:") else 0)

    def count_many_wrong(texts):
        return [len(t) for t in texts]  # characters, not words: does not add up

    paper = Paper(id="2601.99998", title="A small title", authors=["A"], category="cs.LG",
                  abstract=" ".join(f"Sentence number {i} says something new." for i in range(40)))
    assert chunk_paper(paper, count, 30, count_many_wrong) == chunk_paper(paper, count, 30)
