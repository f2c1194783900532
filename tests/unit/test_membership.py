"""How a set question's own words are read (concepts, presence) and how questions are routed, without
the embedding model or a store (fast unit layer). Whether a paper is listed is the calibrated
model's call (tests/unit/test_sets.py); here `states` is a paper stating the subject prominently."""
from functools import partial

from assistant.answer.answerers.roles import role
from assistant.answer.chat import ChatSession
from assistant.search.lexical import tokenize
from assistant.search.question import QuestionAnalyzer
from assistant.search.sets.concepts import topic_concepts
from assistant.search.sets.presence import membership_score
from assistant.search.vocabulary import stem
from assistant.text import clean_latex, numbers_in
from assistant.types import Answer
from tests.factories import paper

RARE = {"lora": 5.0, "federated": 4.5, "diffusion": 4.0, "adapters": 4.0, "learning": 0.5, "model": 0.5, "models": 0.5}


def weight(text: str) -> float:
    return max((RARE.get(w, 2.0) for w in text.lower().split()), default=1.0)


paper = partial(paper, authors=("Ada Lovelace", "Alan Turing"))  # two authors the author questions name


LORA_TITLE = paper("2601.00001", "GeoRA: Geometry-Aware Low-Rank Adaptation for RLVR",
                   "We propose GeoRA, which adapts low-rank updates to the geometry of RL.")
LORA_ABSTRACT = paper("2601.00002", "Federated training of multimodal models",
                      "Clients train lightweight LoRA adapters while the backbone stays frozen. The server "
                      "aggregates only adapter updates.", tldr="客户端只训练LoRA适配器，服务器聚合适配器更新。")
LORA_PASSING = paper("2601.00003", "A survey of optimisers", "Optimisers matter; LoRA is one fine-tuning method.")
UNRELATED = paper("2601.00004", "Sawtooth wavefront reordering for attention kernels", "We reduce L2 misses by 50%.")
FEDERATED = paper("2601.00005", "One-Shot Federated Ridge Regression",
                  "Federated learning protocols require many rounds. We recover the exact solution in one round.",
                  tldr="本文提出一种单轮联邦学习的岭回归方法。")
ZH_ONLY_BACKGROUND = paper("2601.00006", "Forecasting demand with gradient boosting", "We forecast retail demand.",
                           method="与联邦学习不同，我们集中训练。")


STATES = 0.72  # weighted presence of a paper that states the subject prominently (title, TL;DR, repeated)


def members(question, papers, chinese=False):
    """The papers that state the question's subject prominently, most prominent first."""
    concepts = topic_concepts(question, weight)
    scored = [(membership_score(concepts, p, chinese), p.id) for p in papers]
    return [pid for score, pid in sorted(scored, key=lambda sp: -sp[0]) if score >= STATES]


def test_stemming_joins_inflections_and_acronym_plurals():
    assert stem("adapters") == stem("adaptation") == stem("adapt")
    assert stem("LLMs") == stem("llm")
    assert stem("GPUs") == stem("gpus") == stem("GPU")  # a vowel, but an acronym the alias file knows
    assert stem("bus") != stem("bu") and stem("status") == "status"
    assert stem("recommendations") == stem("recommender")


def test_an_abbreviation_in_the_question_finds_the_full_form_in_a_title():
    concepts = topic_concepts("LoRA papers?", weight)
    assert [c.label for c in concepts] == ["LoRA"]
    assert "low-rank adaptation" in {s.text for s in concepts[0].spellings}
    assert members("LoRA papers?", [LORA_TITLE, LORA_PASSING, UNRELATED]) == ["2601.00001"]


def test_inflected_question_words_match_the_papers_wording():
    # "adapters" in the question, "Adaptation" in the title: the question must not be refused.
    found = members("Which papers use LoRA adapters?", [LORA_TITLE, LORA_ABSTRACT, LORA_PASSING, UNRELATED])
    assert "2601.00001" in found and "2601.00002" in found
    assert "2601.00003" not in found and "2601.00004" not in found


def test_a_paper_naming_the_topic_once_in_passing_is_not_a_member():
    assert "2601.00003" not in members("LoRA papers?", [LORA_TITLE, LORA_ABSTRACT, LORA_PASSING])


def test_an_off_corpus_topic_has_no_members():
    assert members("protein folding papers?", [LORA_TITLE, FEDERATED, UNRELATED]) == []


def test_a_chinese_question_matches_english_titles_through_the_alias_file():
    assert members("联邦学习的论文有哪些？", [FEDERATED, UNRELATED, LORA_TITLE], chinese=True) == ["2601.00005"]


def test_a_chinese_spelling_outside_the_tldr_does_not_make_an_english_question_match():
    assert members("federated learning papers", [FEDERATED, ZH_ONLY_BACKGROUND]) == ["2601.00005"]


def test_a_term_met_word_by_word_is_matched_as_written_not_by_stem():
    # The stemmer makes "continual" and "continuous" one stem; word by word they stay apart.
    continuous = paper("2601.00008", "Decision tree learning with continuous features", "Trees for continuous data.")
    continual = paper("2601.00009", "Replay buffers for continual deep learning", "We study continual deep learning.")
    assert members("continual learning?", [continuous, continual]) == ["2601.00009"]
    # … while a distinctive word of the term still carries it: "federated" alone.
    graph = paper("2601.00010", "Federated graph classification", "Clients share graph condensations.")
    assert members("federated learning papers", [graph, UNRELATED]) == ["2601.00010"]


def test_a_broad_subject_includes_its_kinds_from_the_data_file():
    wind = paper("2601.00013", "Cross-domain offshore wind power forecasting", "We forecast wind power output.")
    transformer = paper("2601.00014", "Hyperbolic heterogeneous graph transformer",
                        "A graph transformer for heterogeneous graphs.")
    assert members("time series forecasting papers?", [wind, UNRELATED]) == ["2601.00013"]
    assert members("GNN papers", [transformer, UNRELATED]) == ["2601.00014"]


# -- routing ----------------------------------------------------------------------------------------
CATALOG = {p.id: p for p in [
    paper("2601.10001", "KV cache eviction", category="cs.LG", authors=["Zhenwen Liang", "Yuan Cheng"]),
    paper("2601.10002", "Learned joins", category="cs.DB", authors=["Zhenwen Liang", "Jason Cong"]),
    paper("2601.10003", "Ranking with graphs", category="cs.IR", authors=["Yuan Cheng"]),
    paper("2601.10004", "Test generation", category="cs.SE", authors=["Grace Hopper"]),
]}


def route(question):
    return QuestionAnalyzer(CATALOG).analyze(question)


def test_authors_named_in_any_phrasing_go_to_the_author_path():
    for question in ["What has Zhenwen Liang been working on according to these digests?",
                     "Tell me about the research of Yuan Cheng in this collection",
                     "Papers by Jason Cong in these arXiv digests?",
                     "Did Grace Hopper co-author anything here?",
                     "Which papers by Jason Cong appear in the digests, and what are they about?"]:
        analysis = route(question)
        assert analysis.kind == "author", question


def test_a_person_named_as_an_author_but_not_stored_is_recognised_as_one():
    for question, name in [("papers by Geoffrey Hinton?", "Geoffrey Hinton"),
                           ("Did Yann LeCun's group post anything?", "Yann LeCun"),
                           ("anything from Fei-Fei Li lately?", "Fei-Fei Li"),
                           ("What has Andrej Karpathy been working on?", "Andrej Karpathy")]:
        analysis = route(question)
        assert analysis.unknown_authors == [name] and not analysis.authors, question
        assert not analysis.names_no_subject
    someone_else = route("papers by John Cheng")  # not the stored Yuan Cheng, who shares the family name
    assert someone_else.unknown_authors == ["John Cheng"] and someone_else.similar_authors == ["Yuan Cheng"]
    assert route("papers by Cheng?").authors == ["Yuan Cheng"] and not route("papers by Cheng?").unknown_authors
    assert not route("Papers by Jason Cong in these arXiv digests?").unknown_authors


def test_a_subject_in_capitals_after_by_is_not_a_person():
    used = set(tokenize("Monte Carlo tree search, reinforcement learning"))  # words the papers use
    analyzer = QuestionAnalyzer(CATALOG, stated=lambda term: term in used)
    for question in ("Which methods are inspired by Monte Carlo Tree Search?",
                     "Which agents are trained by Reinforcement Learning?",
                     "By how much does KV cache eviction cut memory?"):
        assert analyzer.analyze(question).unknown_authors == [], question


def test_an_author_with_a_subject_is_a_set_question_filtered_by_author():
    analysis = route("Which papers by Zhenwen Liang study KV cache eviction?")
    assert analysis.kind == "list" and analysis.authors == ["Zhenwen Liang"]


def test_categories_named_by_code_or_plain_name_go_to_the_category_path():
    for question, code in [("databases papers?", "cs.DB"), ("software engineering papers", "cs.SE"),
                           ("信息检索方面的论文", "cs.IR"), ("What are the information retrieval (cs.IR) papers about?", "cs.IR"),
                           ("Give me an overview of the cs.DB papers", "cs.DB")]:
        analysis = route(question)
        assert analysis.kind == "category" and analysis.categories == [code], question


def test_a_category_with_a_subject_is_a_set_question_within_it():
    analysis = route("Which cs.DB papers use learned cardinality estimation?")
    assert analysis.kind == "list" and analysis.categories == ["cs.DB"]


def test_short_topic_questions_as_people_type_them_are_set_questions():
    for question in ["LoRA papers?", "anything on federated learning?", "diffusion model papers",
                     "recommender systems", "any work on KV cache compression", "联邦学习的论文有哪些？",
                     "有没有关于扩散模型的论文", "continual learning?", "KV cache eviction?",
                     "what's new in diffusion models", "latest on speculative decoding", "news on RAG"]:
        analysis = route(question)
        assert analysis.kind == "list" and not analysis.wants_single, question


def test_fact_and_single_paper_questions_are_not_set_questions():
    assert route("How much memory does Panther save on BERT?").kind == "fact"
    single = route("Which paper learns an embedding space for odor mixtures?")
    assert single.kind == "list" and single.wants_single


# -- display text ------------------------------------------------------------------------------------
def test_latex_is_rendered_for_reading_and_numbers_stay_checkable():
    raw = r"a 1.29$\times$ speedup with $\sim$5\% loss, \textbf{Foo}"
    assert clean_latex(raw) == "a 1.29× speedup with ~5% loss, Foo"
    assert numbers_in(raw) == numbers_in(clean_latex(raw)) == {"1.29", "5"}


def test_sentence_roles_put_findings_before_background():
    assert role("While many KV cache pruning methods have been proposed, they have not been adopted.") == "background"
    assert role("We propose KVzap, a fast approximation of KVzip.") == "contribution"
    assert role("It reduces L2 misses by 50% and improves throughput by up to 60%.") == "result"


def test_shortening_drops_whole_clauses_never_mid_clause():
    text = ("We introduce a framework that unifies retrieval and generation for long documents, which scales to "
            "millions of tokens, and we evaluate it on six benchmarks where it improves accuracy by four points, "
            "while using half the memory of the strongest baseline, and runs on a single consumer GPU.")
    from assistant.text import shorten

    short = shorten(text, 200)
    assert short.endswith("…") and len(short) <= 201
    assert text.startswith(short[:-1]) and text[len(short) - 1] in ",;"
    assert shorten("short sentence.", 200) == "short sentence."


# -- chat --------------------------------------------------------------------------------------------
class _Chain:
    def __init__(self):
        self.analyzer = QuestionAnalyzer(CATALOG)
        self.llm = None


def _turn(cited, refused):
    return Answer(question="q", text="t", cited_ids=cited, sources=[], refused=refused, backend="extractive")


def test_a_follow_up_refers_to_the_papers_the_previous_answer_cited():
    session = ChatSession(_Chain())
    session.turns.append(_turn(["2601.10001", "2601.10002"], refused=False))
    _, filters, note = session.resolve("which of those use quantization?")
    assert filters.paper_ids == ("2601.10001", "2601.10002") and "2 paper" in note


def test_a_follow_up_after_a_refusal_searches_afresh_and_says_so():
    session = ChatSession(_Chain())
    session.turns.append(_turn([], refused=True))
    _, filters, note = session.resolve("which of those use prompts?")
    assert not filters.paper_ids and "searched afresh" in note


def test_either_side_of_or_satisfies_the_question():
    concepts = topic_concepts("Which papers rely on speculative decoding for LLM generation or RL rollouts?", weight)
    joined = [c for c in concepts if " or " in c.label]
    assert len(joined) == 1 and len(joined[0].options) == 2
    generation = paper("2601.00010", "Speculative decoding for faster LLM generation", "We speed up LLM generation.")
    rollouts = paper("2601.00011", "Speculative rollouts for RL", "Speculative decoding makes RL rollouts cheaper.")
    assert set(members("Which papers rely on speculative decoding for LLM generation or RL rollouts?",
                       [generation, rollouts, UNRELATED])) == {"2601.00010", "2601.00011"}


def test_a_trailing_question_about_the_members_does_not_choose_them():
    labels = [c.label for c in topic_concepts("Which papers work with EEG signals, and what tasks do they address?", weight)]
    assert labels == ["EEG", "signals"]


def test_examples_in_parentheses_count_less_than_the_subject():
    concepts = {c.label: c.weight for c in topic_concepts("tabular foundation models (e.g. TabPFN)", weight)}
    assert concepts["TabPFN"] < concepts["tabular"]


def test_a_broader_term_finds_papers_naming_one_of_its_kinds_but_not_the_reverse():
    quantized = paper("2601.00012", "QuantKV: 2-bit quantization of key and value caches", "We quantize the KV cache.")
    assert "2601.00012" in members("Which papers compress the KV cache?", [quantized, UNRELATED])
    generic = paper("2601.00013", "KV cache compression by merging", "We compress the KV cache by merging tokens.")
    assert "2601.00013" not in members("KV cache quantization papers?", [generic, quantized])


def test_a_question_asking_two_things_is_split_into_its_parts():
    from assistant.answer.answerers.roles import question_parts

    assert question_parts("What AIME 2024 accuracy does it report, and on what hardware were its experiments run?") == [
        "What AIME 2024 accuracy does it report", "on what hardware were its experiments run?"]
    assert len(question_parts("QMC 把离群权重放在什么存储器上？相对 FP16 能耗降低多少？")) == 2
    assert question_parts("How large are the two datasets curated for training TerraFormer?") == [
        "How large are the two datasets curated for training TerraFormer?"]


def test_a_generic_noun_beside_the_subject_is_not_required():
    eeg = paper("2601.00015", "Local-global feature fusion for EEG emotion recognition", "We fuse EEG features.")
    other = paper("2601.00016", "Signals from the crowd", "Crowd signals predict traffic.")
    found = members("Which papers work with EEG signals?", [eeg, other])
    assert found == ["2601.00015"]


def test_an_example_counts_when_stated_and_never_against_a_paper():
    quail = paper("2601.00017", "Quantization-aware unlearning for language models",
                  "Machine unlearning removes facts from language models; we keep it robust to quantization.")
    auditing = paper("2601.00018", "Auditing language model unlearning", "We audit machine unlearning in language models.")
    found = members("Which papers study machine unlearning for language models (e.g. difficulty or auditing)?",
                    [auditing, quail])
    assert set(found) == {"2601.00017", "2601.00018"}
    assert found[0] == "2601.00018"  # the one that also states an example ranks first


def test_what_a_question_sets_its_subject_against_is_not_required():
    masked = paper("2601.00019", "Attention floating in masked diffusion language models",
                   "We study attention in masked diffusion language models.")
    concepts = topic_concepts("Which papers study diffusion language models rather than autoregressive ones?", weight)
    assert "autoregressive" not in {c.label.lower() for c in concepts}
    assert membership_score(concepts, masked) >= STATES


def test_an_alternative_to_a_framing_word_is_optional():
    # "analyze or attack": any paper analysing the subject answers; "attack" is one example.
    concepts = topic_concepts("Which papers analyze or attack diffusion language models?", weight)
    assert {c.label for c in concepts if c.example} == {"attack"}


def test_the_longest_chinese_spelling_decides_the_concept():
    labels = [c.label for c in topic_concepts("时间序列预测的论文", weight)]
    assert labels == ["time series forecasting"]


def test_british_spellings_match_american_ones():
    assert stem("optimisation") == stem("optimization")
    assert stem("neighbours") == stem("neighbor")
    british = paper("2601.00011", "Transfer learning for Bayesian optimisation", "We study Bayesian optimisation.")
    assert members("Bayesian optimization papers?", [british, UNRELATED]) == ["2601.00011"]


def test_an_optimizer_is_not_any_optimization():
    optimizer = paper("2601.00012", "A sign-based optimizer for pretraining", "Our optimizer beats AdamW.")
    scheduling = paper("2601.00013", "Optimization of job scheduling", "We cast scheduling as optimization.")
    assert members("new optimizers?", [optimizer, scheduling]) == ["2601.00012"]
    # … while an optimizer paper is still an optimization paper.
    assert set(members("optimization papers", [optimizer, scheduling])) == {"2601.00012", "2601.00013"}


def test_a_term_naming_the_whole_field_does_not_narrow_the_subject():
    fair = paper("2601.00014", "Continuous fairness on data streams", "We monitor group fairness on streams.")
    concepts = topic_concepts("fairness in ML papers", weight)
    assert {c.label: c.example for c in concepts} == {"fairness": False, "ML": True}
    assert members("fairness in ML papers", [fair, UNRELATED]) == ["2601.00014"]
    # Asked alone, the field is the subject.
    assert [c.example for c in topic_concepts("machine learning papers?", weight)] == [False]


def test_and_between_two_terms_can_be_read_as_either():
    strict = topic_concepts("weather and climate", weight)
    assert [c.label for c in strict] == ["weather", "climate"]
    wide = topic_concepts("weather and climate", weight, either_for_and=True)
    assert [c.label for c in wide] == ["weather and climate"]
    weather = paper("2601.00015", "A transformer for global weather forecasting", "Medium-range weather prediction.")
    climate = paper("2601.00016", "Autoencoders for climate emulators", "We emulate climate models.")
    stated = lambda concepts, p: membership_score(concepts, p) >= STATES  # noqa: E731
    assert not any(stated(strict, p) for p in (weather, climate))
    assert all(stated(wide, p) for p in (weather, climate))


def test_chinese_ways_to_ask_whats_new_are_set_questions():
    for question in ["医学影像方面有什么新论文？", "强化学习有什么论文", "扩散模型的最新进展"]:
        assert route(question).kind == "list", question


def test_or_in_a_chinese_question_accepts_either_side():
    concepts = topic_concepts("组学或单细胞数据分析的论文有哪些？", weight)
    assert [c.label for c in concepts] == ["omics or single-cell"]
    omics = paper("2601.00017", "A dual-graph network for omics-based disease classification", "Multi-omics data.",
                  tldr="本文提出一种用于多组学疾病分类的图神经网络。")
    cells = paper("2601.00018", "Imputation of missing single-cell data", "Single-cell RNA data is sparse.",
                  tldr="本文研究单细胞数据的缺失值填补。")
    found = members("组学或单细胞数据分析的论文有哪些？", [omics, cells, UNRELATED], chinese=True)
    assert set(found) == {"2601.00017", "2601.00018"}
    # 或许 ("perhaps") is not "or".
    assert all(" or " not in c.label for c in topic_concepts("或许有联邦学习的论文？", weight))


def test_a_paper_with_no_chinese_summary_states_a_chinese_word_through_its_english_senses():
    # 篮球阵容 is in no alias group: the question's words are Chinese only. A paper whose Chinese
    # summary failed (as 45 sample papers' did) can only state them in English.
    failed = paper("2601.00007", "Rating basketball lineups with regularized regression",
                   "Basketball lineups share the floor briefly. We rate each lineup with a prior.",
                   tldr="Summary generation failed")
    chinese = paper("2601.00008", "Lineup ratings", "We rate lineups.", tldr="本文评估篮球阵容。")
    passing = paper("2601.00009", "Sports analytics at scale", "Among many sports, basketball appears once; lineup too.",
                    tldr="Summary generation failed")
    assert members("篮球阵容的论文", [failed, chinese, passing, UNRELATED], chinese=True) == ["2601.00007", "2601.00008"]
    # An English question is not touched: the senses are only for Chinese words.
    assert "2601.00009" not in members("basketball lineup papers", [failed, chinese, passing, UNRELATED])


def test_a_question_of_framing_alone_names_no_subject():
    analyzer = QuestionAnalyzer({p.id: p for p in (LORA_TITLE, FEDERATED)})
    for question in ("which papers?", "papers?", "有哪些论文？", "Any papers?"):
        assert analyzer.analyze(question).names_no_subject, question
    for question in ("LoRA papers?", "papers by Ada Lovelace?", "cs.LG papers?", "联邦学习的论文有哪些？"):
        assert not analyzer.analyze(question).names_no_subject, question


def test_a_question_referring_to_one_paper_is_told_from_one_about_a_subject():
    for question in ("What did the gradient-boosting study find about hiding features?",
                     "There's one showing that chat models flub parity. What does it propose?",
                     "In that benchmark of running LLMs on gaming cards, how much energy was saved?",
                     "Is there a paper that predicts what scent a chemical will have?",
                     "那篇用大语言模型做渗透测试的论文结论是什么？",
                     "在智能反射面部署研究中，作者用什么算法求解？", "有个基准把三种方法放在一起比较，结论是什么？"):
        assert route(question).one_paper, question
    # Chinese: one paper asked about by "有篇", "那篇" or a follow-up about "it" goes the single-paper way.
    for question in ("有没有论文直接从胸部X光片合成暗场图像？它用了什么方法？", "有篇论文判断化合物的气味，是怎么做的？"):
        assert route(question).wants_single, question
    assert not route("有没有研究联邦学习的论文？它们用了什么方法？").wants_single
    for question in ("What's out there on training a student model to imitate a teacher?",
                     "Who is working on shrinking the cached keys and values of long prompts?",
                     "有没有研究联邦学习的论文？",
                     "Two papers by the same pair of authors anneal with probabilistic bits: how do they differ?"):
        assert not route(question).one_paper, question
