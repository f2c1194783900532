"""The LLM path end to end: the real `openai` client against a local server speaking the protocol."""
import pytest

from assistant.answer.answerers.llm import LLMAnswerer
from assistant.answer.chain import AnswerChain
from assistant.app import App
from tests.factories import make_settings
from tests.fake_openai import FakeOpenAI

KV_QUESTION = "Which papers compress the KV cache?"


@pytest.fixture
def llm_app(fixture_app):
    def build(fake: FakeOpenAI, **overrides) -> App:
        settings = make_settings(fixture_app.settings.store, llm_base_url=fake.base_url,
                                 llm_model=overrides.pop("llm_model", "fake-model"),
                                 llm_api_key="sk-test-secret-key", llm_max_retries=overrides.pop("retries", 0),
                                 llm_timeout_s=overrides.pop("timeout", 10.0),
                                 # the scripted replies below answer; set screening has its own tests (test_screening.py)
                                 llm_screen_seconds=overrides.pop("screen_seconds", 0.0), **overrides)
        app = App(settings)
        app.__dict__["embedder"] = fixture_app.embedder
        app.__dict__["retriever"] = fixture_app.retriever  # same store, already loaded
        return app

    return build


def test_streams_a_cited_answer_and_keeps_valid_citations(llm_app):
    text = ("KVSqueeze compresses the KV cache with per-head low-rank projections [2601.90001]. "
            "QuantKV quantizes it to 2 bits [2601.90008].")
    with FakeOpenAI().reply({"text": text}) as fake:
        app = llm_app(fake)
        pieces = list(app.chain.stream(KV_QUESTION))
    streamed = "".join(p for p in pieces if isinstance(p, str))
    answer = pieces[-1]
    assert len([p for p in pieces if isinstance(p, str)]) > 3  # really streamed
    assert streamed == text
    assert answer.cited_ids == ["2601.90001", "2601.90008"] and answer.backend == "llm:fake-model"
    assert not answer.refused and not answer.removed_ids and not answer.unsupported


def test_prompt_delimits_sources_as_data_and_says_why(llm_app):
    with FakeOpenAI().reply({"text": "TabReason reaches 68.9% [2601.90091]."}) as fake:
        llm_app(fake).ask("How well does TabReason do on WikiTableQuestions?")
        messages = fake.requests[0]["body"]["messages"]
    system, user = messages[0]["content"], messages[1]["content"]
    assert "never an instruction" in system and "NOT_COVERED" in system
    assert '<source id="2601.90091"' in user and user.count("</source>") == user.count("<source ")
    assert "Ignore previous instructions" in user  # the abstract is passed on, as data inside its tag
    assert fake.requests[0]["auth"] == "Bearer sk-test-secret-key"


def test_citation_of_a_paper_not_retrieved_is_removed_and_reported(llm_app):
    text = "KVSqueeze reduces KV memory by 4.2x [2601.90001]. A famous paper also does this [2401.00001]."
    with FakeOpenAI().reply({"text": text}) as fake:
        answer = llm_app(fake).ask(KV_QUESTION)
    assert "2401.00001" not in answer.text and answer.removed_ids == ["2401.00001"]
    assert answer.cited_ids == ["2601.90001"]
    assert any("not among the sources" in n for n in answer.notices)
    # The sentence that cited only that paper is kept, marked, and listed with the reason.
    assert "A famous paper also does this. ⚠" in answer.text
    assert [c.reason for c in answer.unsupported] == ["its citation of 2401.00001 was removed (not among the sources)"]


def test_an_answer_citing_only_papers_outside_the_sources_falls_back_and_says_which(llm_app):
    with FakeOpenAI().reply({"text": "SnapKV evicts entries [2404.14469]."}) as fake:
        answer = llm_app(fake).ask(KV_QUESTION)
    assert answer.backend == "extractive" and answer.removed_ids[0] == "2404.14469"
    assert answer.notices[0].startswith("the answer of the LLM 'fake-model' cited none of the sources (only 2404.14469")
    data = answer.to_json_dict()
    assert data["answered_by"] == "extractive" and data["llm"]["fallback"] == "no_valid_citation"
    assert data["removed_citations"][0] == "2404.14469"


def test_unsupported_number_is_flagged(llm_app):
    text = "KVSqueeze reduces KV-cache memory by 9.7x with no accuracy loss [2601.90001]."
    with FakeOpenAI().reply({"text": text}) as fake:
        answer = llm_app(fake).ask(KV_QUESTION)
    assert "⚠" in answer.text
    assert answer.unsupported and "9.7" in answer.unsupported[0].reason


def test_not_covered_becomes_a_refusal_with_nearest_papers(llm_app):
    with FakeOpenAI().reply({"text": "NOT_COVERED"}) as fake:
        answer = llm_app(fake).ask("What is the best sourdough recipe?")
    assert answer.refused and answer.cited_ids == [] and "do not cover" in answer.text


def test_429_is_retried_with_backoff_then_succeeds(llm_app):
    with FakeOpenAI().reply({"status": 429}, {"status": 429}, {"text": "TokenDrop evicts entries [2601.90002]."}) as fake:
        answer = llm_app(fake, retries=2).ask(KV_QUESTION)
        assert len(fake.requests) == 3
    assert answer.backend == "llm:fake-model" and answer.cited_ids == ["2601.90002"]


@pytest.mark.parametrize("script,reason", [
    ([{"status": 500}] * 3, "HTTP 500"),
    ([{"status": 429}] * 3, "429"),
    ([{"sleep": 3, "text": "late"}], "timed out"),
])
def test_backend_failure_falls_back_to_the_extractive_answer(llm_app, script, reason):
    with FakeOpenAI().reply(*script) as fake:
        answer = llm_app(fake, retries=2 if "status" in script[0] else 0, timeout=1.0).ask(KV_QUESTION)
    assert answer.backend == "extractive" and answer.cited_ids
    assert reason in answer.notices[0] and "extractive" in answer.notices[0]
    assert all("sk-test-secret-key" not in n for n in answer.notices)


def test_connection_refused_falls_back(llm_app, fixture_app):
    fake = FakeOpenAI()  # never started: nothing listens on its port
    fake.server.server_close()
    answer = llm_app(fake).ask(KV_QUESTION)
    assert answer.backend == "extractive" and "cannot connect" in answer.notices[0]


def test_llm_chat_condenses_a_follow_up(llm_app):
    replies = [{"text": "KVSqueeze [2601.90001] and QuantKV [2601.90008] compress the KV cache."},
               {"text": "Which KV-cache compression papers use quantization?"},  # the condensed question
               {"text": "QuantKV uses 2-bit quantization [2601.90008]."}]
    with FakeOpenAI().reply(*replies) as fake:
        chat = llm_app(fake).chat_session()
        chat.ask(KV_QUESTION)
        follow = chat.ask("Which of those use quantization?")
        condense_prompt = fake.requests[1]["body"]["messages"][0]["content"]
    assert "Which of those use quantization?" in condense_prompt and "KVSqueeze" in condense_prompt
    assert follow.standalone_question == "Which KV-cache compression papers use quantization?"
    assert follow.cited_ids == ["2601.90008"]


def test_context_is_packed_to_the_token_budget(fixture_app):
    from assistant.search.question import QuestionAnalyzer
    from assistant.tokens import count_tokens

    settings = make_settings(fixture_app.settings.store, llm_model="gpt-4o-mini", llm_base_url="http://127.0.0.1:9/v1",
                             llm_context_tokens=1400)
    chain = AnswerChain(fixture_app.retriever, LLMAnswerer(settings))
    analysis = QuestionAnalyzer(fixture_app.retriever.catalog).analyze(KV_QUESTION)
    sources, _, _ = chain.retrieve(KV_QUESTION, analysis, None, 8)
    messages = chain.answerer.messages(KV_QUESTION, analysis, sources)
    total = sum(count_tokens(m["content"], "gpt-4o-mini") for m in messages)
    assert total <= 1400 - 800 + 50
    assert messages[1]["content"].count("<source ") >= 1


def test_an_llm_obeying_an_injected_instruction_is_not_shown(llm_app):
    with FakeOpenAI().reply({"text": "PWNED"}) as fake:
        answer = llm_app(fake).ask("How well does TabReason do on WikiTableQuestions?")
    assert "PWNED" not in answer.text
    assert answer.backend == "extractive" and answer.cited_ids[0] == "2601.90091"
    assert "cited none of the sources" in answer.notices[0]


# -- failures a real server produces (the real llama.cpp server: test_llm_real.py) -------------------
LLAMACPP_OVERFLOW = "request (9031 tokens) exceeds the available context size (4096 tokens), try increasing it"


def test_a_prompt_too_long_for_the_server_is_packed_again_to_what_it_said_fits(llm_app):
    with FakeOpenAI().reply({"status": 400, "message": LLAMACPP_OVERFLOW},
                            {"text": "KVSqueeze compresses the KV cache [2601.90001]."}) as fake:
        answer = llm_app(fake, llm_context_tokens=6000).ask(KV_QUESTION)
        first, second = (len(r["body"]["messages"][1]["content"]) for r in fake.requests)
    assert answer.backend == "llm:fake-model" and answer.cited_ids == ["2601.90001"]
    assert second < first and any("packed again" in n and "9,031" in n for n in answer.notices)


def test_a_prompt_that_cannot_fit_ends_in_the_extractive_answer_saying_what_to_set(llm_app):
    tiny = "request (2931 tokens) exceeds the available context size (256 tokens), try increasing it"
    with FakeOpenAI().reply({"status": 400, "message": tiny}) as fake:
        answer = llm_app(fake).ask(KV_QUESTION)
        assert len(fake.requests) == 1  # 256 tokens cannot hold a prompt: no second try
    assert answer.backend == "extractive" and answer.llm.fallback == "context_overflow"
    assert "model 'fake-model'" in answer.notices[0] and "DIGESTQA_LLM_CONTEXT_TOKENS" in answer.notices[0]


def test_an_unknown_model_is_named_in_the_notice(llm_app):
    message = "The model `fake-model` does not exist."  # vLLM's wording; OpenAI and Ollama say "not found"
    with FakeOpenAI().reply({"status": 404, "message": message}) as fake:
        answer = llm_app(fake).ask(KV_QUESTION)
    assert answer.backend == "extractive" and answer.llm.fallback == "model_not_found"
    assert "model 'fake-model' is not served at" in answer.notices[0]


def test_a_stream_that_breaks_off_mid_answer_falls_back_and_says_so(llm_app):
    text = "KVSqueeze compresses the KV cache with low-rank projections per head [2601.90001]. " * 3
    with FakeOpenAI().reply({"text": text, "break_after": 3}) as fake:
        pieces = list(llm_app(fake).chain.stream(KV_QUESTION))
    answer = pieces[-1]
    assert "".join(p for p in pieces[:3] if isinstance(p, str)) == text[:36]  # what came before the break was shown
    assert answer.backend == "extractive" and answer.llm.fallback == "stream_broken"
    assert "ended after 36 characters without finishing" in answer.notices[0] and "extractive" in answer.notices[0]


def test_a_llamacpp_server_that_would_ignore_a_wrong_model_name_is_checked_first(llm_app):
    with FakeOpenAI() as fake:
        fake.models = [{"id": "/models/SmolLM2-135M-Instruct.Q4_1.gguf", "object": "model", "owned_by": "llamacpp",
                        "aliases": ["smollm2"], "meta": {"n_ctx": 1600}}]
        wrong = llm_app(fake).ask(KV_QUESTION)
        assert not fake.requests  # refused before anything was generated
        fake.reply({"text": "KVSqueeze compresses the KV cache [2601.90001]."})
        right = llm_app(fake, llm_model="smollm2").ask(KV_QUESTION)
        prompt = "".join(m["content"] for m in fake.requests[0]["body"]["messages"])
    assert wrong.llm.fallback == "model_not_found" and "'SmolLM2-135M-Instruct.Q4_1.gguf', 'smollm2'" in wrong.notices[0]
    assert right.backend == "llm:smollm2" and right.cited_ids == ["2601.90001"]
    from assistant.tokens import count_tokens
    assert count_tokens(prompt) <= 1600 - 800 + 50  # the server's n_ctx capped the 6,000-token default


def test_a_name_no_paper_mentions_is_declined_in_code_without_asking_the_model(llm_app):
    with FakeOpenAI().reply({"text": "KVSqueeze reports 3x on WMT14 [2601.90001]."}) as fake:
        answer = llm_app(fake).ask("What speed-up on WMT14 does KVSqueeze report?")
        assert answer.refused and not answer.cited_ids and "WMT14" in answer.text
        assert not fake.requests  # the model was never asked
