"""Chinese questions reaching papers through their English text (CC-CEDICT glosses). No model."""
from __future__ import annotations

from assistant.answer.evidence import TermWeights
from assistant.ingest.store import StoredChunk
from assistant.search.bilingual import english_query, english_rendering, glossary, glosses
from assistant.search.lexical import LexicalIndex, tokenize


def test_words_get_their_english_senses_as_index_terms():
    assert ("ticket",) in glosses("门票")
    assert ("reservation",) in glosses("预约")
    assert ("osaka",) in glosses("大阪")  # Ōsaka, folded to the index's ASCII
    assert ("world", "expo") in glosses("世博会")  # "abbr. for 世界博览会[...], World Expo": the English kept
    assert all(len(sense) <= 3 for word in ("利用", "没有", "问题") for sense in glosses(word))
    assert glosses("来") == ()  # one character: too many senses to guess from
    assert glosses("nba") == () and glosses("无错") == ()  # not Chinese; not in the dictionary
    assert not any("surname" in sense for sense in glosses("都市"))


def test_an_english_query_for_a_chinese_question():
    terms = tokenize("哪篇论文利用门票预约数据来预测世博会的人数？")
    query = english_query(terms).split()
    assert {"ticket", "reservation", "data", "forecast", "expo"} <= set(query)
    assert len(query) == len(set(query))
    assert set(glossary(terms)) <= set(terms)


def test_a_chinese_question_rendered_in_english_for_the_embedding_model():
    text = english_rendering("用强化学习来规划车队配送路线的论文有哪些？")
    assert text.startswith("reinforcement learning")  # the alias file's English name, not "strengthen learn"
    assert "plan" in text.split() and "itinerary" in text.split()  # other words: the dictionary's first sense
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in text)
    assert "paper" not in text  # framing (的论文, 有哪些) left out
    assert {"LoRA", "GPT-4"} <= set(english_rendering("有没有研究LoRA和GPT-4的论文？").split())  # Latin words kept
    assert english_rendering("Which papers use LoRA?") == "Which papers use LoRA?"  # no Chinese: as asked
    assert english_rendering("有哪些？") == ""  # framing only: nothing to read


def test_each_word_is_rendered_in_the_sense_the_papers_use():
    """蛋白 is "egg white" first in the dictionary, "protein" in papers: given how often the store's
    English text uses each term, the rendering takes the sense it uses most; the first sense when it
    uses none of them (or nothing is known of its usage)."""
    question = "有哪些预测蛋白结合的论文？"
    assert "egg white" in english_rendering(question)  # the dictionary's first sense
    usage = {"protein": 40, "egg": 1, "white": 3}
    rendered = english_rendering(question, lambda term: usage.get(term, 0))
    assert "protein" in rendered.split() and "egg" not in rendered.split()
    assert english_rendering(question, lambda term: 0) == english_rendering(question)


CHUNKS = [
    StoredChunk("2601.00001#abstract#a", "2601.00001", "abstract",
                "We forecast daily attendance at Expo 2025 Osaka from ticket reservation data."),
    StoredChunk("2601.00002#abstract#b", "2601.00002", "abstract", "Lane change forecasting from drone traffic videos."),
    StoredChunk("2601.00003#tldr#c", "2601.00003", "tldr", "本文研究无人机检测森林火灾。"),
    StoredChunk("2601.00004#abstract#d", "2601.00004", "abstract", "Graph neural networks for molecules and proteins."),
]


def test_coverage_counts_english_senses_whole_words_only():
    weights = TermWeights(LexicalIndex(CHUNKS))
    english_only = frozenset(tokenize(CHUNKS[0].text))
    question = tokenize("利用门票预约数据预测世博会的每日入场人数")
    senses = glossary(question)
    plain = weights.coverage(question, english_only)
    bridged = weights.coverage(question, english_only, senses)
    assert plain < 0.1 < 0.5 < bridged  # the paper states it all, in English only
    # "无人机检测森林火灾" against a drone paper about something else: one word of four matches,
    # and it counts once (search-mode segmentation also yields 无人 and 人机).
    fire = tokenize("无人机检测森林火灾")
    assert {"无人", "人机", "无人机"} <= set(fire)
    drone = frozenset(tokenize(CHUNKS[1].text))
    assert weights.coverage(fire, drone, glossary(fire)) < 0.35
    # A paper with the Chinese words is fully covered either way.
    chinese = frozenset(tokenize(CHUNKS[2].text))
    assert weights.coverage(fire, chinese) == 1.0 == weights.coverage(fire, chinese, glossary(fire))
    # English questions are untouched by the Chinese rules.
    english = tokenize("drone forest fire detection")
    assert weights.coverage(english, drone) == weights.coverage(english, drone, None)


def test_senses_match_by_stem_and_framing_words_do_not_count():
    weights = TermWeights(LexicalIndex(CHUNKS + [
        StoredChunk("2601.00005#abstract#e", "2601.00005", "abstract",
                    "A poisoning attack on rank-based federated learning controls the competitor's accuracy.")]))
    paper = frozenset(tokenize("A poisoning attack on rank-based federated learning controls the competitor's accuracy."))
    question = tokenize("有没有工作研究投毒攻击？")
    senses = glossary(question)
    assert weights.share(("poison",), paper) == 1.0  # poison ~ poisoning
    # 没有 (from 有没有) and 工作 frame the question: only 投毒 and 攻击 count, and both are stated.
    assert weights.coverage(question, paper, senses) == 1.0
