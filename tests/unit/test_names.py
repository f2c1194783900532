"""Names a question gives (benchmarks, models, hardware, acronyms), read by their form, and whether the
store mentions them: a question about a name no paper mentions is declined. No model needed."""
from __future__ import annotations

from assistant.ingest.store import StoredChunk
from assistant.search.lexical import LexicalIndex
from assistant.search.names import names_in
from assistant.search.question import QuestionAnalyzer
from assistant.types import Paper


def named(question: str) -> dict[str, bool]:
    """name -> given as an example"""
    return {n.text: n.example for n in names_in(question)}


def test_names_are_read_by_form_not_by_a_list():
    assert named("What speed-up on WMT14 did the paper on AMD MI300X GPUs report over FlashAttention-2?") == {
        "WMT14": False, "AMD": False, "MI300X": False, "GPU": False, "FlashAttention-2": False}
    assert named("Which papers study reward hacking in RLHF?") == {"RLHF": False}
    assert named("那篇论文最后成功利用了多少个真实CVE漏洞？") == {"CVE": False}
    # Plain words, capitalised words, numbers with or without a unit are not names.
    assert named("What perplexity did they get with a 50% sparsity budget on 7B models in 3D?") == {}
    assert named("Federated Learning papers from January?") == {}


def test_hyphenated_words_keep_their_name_and_drop_plain_parts():
    assert named("hierarchical compression of LLaMA-7B") == {"LLaMA-7B": False}
    assert named("RL-based active flow control with PPO") == {"RL": False, "PPO": False}
    assert named("surrogate gradients or ANN-to-SNN conversion") == {"ANN": False, "SNN": False}
    assert named("consumer RTX 50-series cards") == {"RTX": False}


def test_examples_are_marked():
    assert named("forget training data (e.g. a GDPR deletion request)") == {"GDPR": True}
    assert named("knowledge graph embedding models like TransE") == {"TransE": True}
    assert named("predicting a protein's structure, AlphaFold-style?") == {"AlphaFold": True}
    assert named("有没有预测城市空气质量（比如PM2.5浓度）的论文？") == {"PM2.5": True}
    assert named("traffic forecasting (METR-LA / PeMS style)") == {"METR-LA": True, "PeMS": True}
    # "I'd like" is a request, not an example; an example's clause ends at its punctuation.
    assert named("I'd like papers on RLHF") == {"RLHF": False}
    assert named("models such as BERT, evaluated on GLUE") == {"BERT": True, "GLUE": False}


def test_the_index_knows_a_name_however_its_text_splits_it():
    chunks = [StoredChunk("a#1", "a", "abstract", "We evaluate LLaMA 7B and FlashAttention-2 with AlphaFold-2 features."),
              StoredChunk("b#1", "b", "abstract", "A text-to-SQL system on PM2.5 sensor data.")]
    index = LexicalIndex(chunks)
    mentioned = {n.text: index.mentions(n.parts) for n in names_in(
        "LLaMA-7B FlashAttention-2 AlphaFold TextToSQL PM2.5 WMT14 MI300X RLHF")}
    assert mentioned == {"LLaMA-7B": True, "FlashAttention-2": True, "AlphaFold": True, "TextToSQL": True,
                         "PM2.5": True, "WMT14": False, "MI300X": False, "RLHF": False}


def test_the_analysis_lists_unmentioned_names_apart_from_examples_and_stored_names():
    papers = {"2601.00001": Paper("2601.00001", "Speculative decoding", ["Ada Lovelace"], "cs.CL",
                                  abstract="Speculative decoding for LLM inference.")}
    index = LexicalIndex([StoredChunk("2601.00001#a", "2601.00001", "abstract", papers["2601.00001"].abstract)])
    analyzer = QuestionAnalyzer(papers, mentions=index.mentions)
    analysis = analyzer.analyze("What speed-up on WMT14 did the LLM speculative decoding paper report (e.g. on GSM8K)?")
    assert analysis.unmentioned == ["WMT14"] and analysis.unmentioned_examples == ["GSM8K"]
    assert analyzer.analyze("What does speculative decoding do for LLM inference?").unmentioned == []
    # A stored category's archive is known to the store ("rather than a CS category": cs.CL is stored).
    assert analyzer.analyze("Which papers are filed under statistics rather than a CS category?").unmentioned == []
    # A question naming a stored author is about that person's papers, whatever else it names.
    assert analyzer.analyze("Has Ada Lovelace written about RLHF?").unmentioned == []


def test_figures_stated_as_conditions_are_standalone_exact_numbers():
    from assistant.search.names import figure_value, stated_figures
    assert stated_figures("what perplexity did they get with a 50% sparsity budget?") == ["50%"]
    assert stated_figures("How much faster on the RTX 4090 than 3.5x, at 12 percent and 1,024 tokens?") == [
        "4090", "3.5x", "12 percent", "1,024"]
    # Parts of names and sizes, years, rounded figures, Chinese amounts and examples are not conditions.
    assert stated_figures("GPT-5.2 on 2D tasks with 4B params and 50-series cards at the 2025 Expo") == []
    assert stated_figures("~0.8M params, about 70,000 records, 约 7 万条, 320 亿参数") == []
    assert stated_figures("What does 2601.16032 report on long inputs (e.g. 512 tokens)?") == []
    assert [figure_value(f) for f in ("50%", "1,024", "0.90", "3.5x")] == [50.0, 1024.0, 0.9, 3.5]


def test_an_acronym_the_papers_write_out_in_full_is_mentioned():
    chunks = [StoredChunk("a#1", "a", "abstract", "It beats the high-resolution forecast of the European Centre for "
                                                  "Medium-Range Weather Forecasts at one-degree resolution."),
              StoredChunk("b#1", "b", "abstract", "Deep Learning Models for Graph Neural Network pruning.")]
    index = LexicalIndex(chunks)
    assert index.spells_out("ECMWF")  # a hyphenated word is one initial; "for" between words is skipped
    assert not index.spells_out("ECMRWF")
    assert not index.spells_out("GNNP")  # "Neural Network pruning": a lower-case word is not an initial
    assert not index.spells_out("DLM")  # three letters: Title Case runs match those by chance
    assert not index.spells_out("ecmwf")  # an acronym is written in capitals
    papers = {"a": Paper("a", "YanTian", ["Ada Lovelace"], "cs.LG", abstract=chunks[0].text)}
    analyzer = QuestionAnalyzer(papers, mentions=index.mentions, spells_out=index.spells_out)
    assert analyzer.analyze("How many days of skill does it have against ECMWF HRES?").unmentioned == ["HRES"]
