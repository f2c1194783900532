"""The sentence that stands for a paper says what it does or finds with its subject named: never an
enumeration item, an example, or a pointer back at its context (answer/answerers/roles.py)."""
import pytest

from assistant.answer.answerers.roles import is_filler, paper_names
from assistant.answer.sentences import contribution_sentence, result_sentence
from assistant.types import Paper

BANDIT_TITLE = "Rethinking Reinforcement fine-tuning of LLMs: A Multi-armed Bandit Learning Perspective"


@pytest.mark.parametrize("sentence, title, filler", [
    ("To tackle this challenge, we propose a bottom-up experiment pipeline.", BANDIT_TITLE, True),
    ("(1) We utilize an optimization formulation to derive a new lower bound, when there is a qualified arm.",
     "Closing the Gap on the Sample Complexity of 1-Identification", True),
    ("For example, given an article on the origins of human bipedal walking, CSQL enables queries such as: "
     "\"What are the strongest causal influences on bipedalism?\"", "CSQL: Mapping Documents into Causal Databases", True),
    ("Overall, our work provides a practical and turnkey solution.",
     "Q-realign: Piggybacking Realignment on Quantization for Safe and Efficient LLM Deployment", True),
    ("We show it is not.", "One-Shot Federated Ridge Regression", True),
    # Pointing back is fine when the sentence names its subject or says enough of its own.
    ("To address these issues, we establish GNN memorization as a new perspective and propose MGU, a "
     "Memorization-guided Graph Unlearning framework.", "Re-understanding Graph Unlearning through Memorization", False),
    ("To address this, we propose a fusion framework that integrates local, channel-wise descriptors and global, "
     "trial-level descriptors, improving cross-subject generalization on the SEED-VII dataset.",
     "Local-Global Feature Fusion for Subject-Independent EEG Emotion Recognition", False),
    ("We introduce KVzap, a fast, input-adaptive approximation of KVzip that works in both prefilling and decoding.",
     "KVzap: Fast, Adaptive, and Faithful KV Cache Pruning", False),
])
def test_filler_is_a_class_of_sentences(sentence, title, filler):
    assert is_filler(sentence, title) is filler


def test_a_name_is_one_the_paper_coins_not_one_it_meets_first_in_the_background():
    abstract = ("Large Language Models (LLMs) are costly to pretrain. We propose two variants of Muon, Muon-NSR and "
                "Muon-VS, which normalize momentum. "
                "Experiments on GPT-2 and LLaMA demonstrate that our proposed methods converge faster. "
                "We investigate learned KV cache compression through Speculative Importance Prediction (SIP).")
    assert paper_names("Variance-Adaptive Muon: Accelerating LLM Pretraining", abstract) == {
        "Variance-Adaptive Muon", "Muon-NSR", "Muon-VS", "SIP"}


def test_the_representative_sentences_skip_filler():
    paper = Paper("2601.14599", BANDIT_TITLE, ["A"], "cs.LG", abstract=(
        "A large number of heuristics have been proposed to optimize the reinforcement fine-tuning of LLMs. "
        "To tackle this challenge, we propose a bottom-up experiment pipeline. "
        "This minimalist configuration connects to multi-armed bandit learning with extremely large discrete "
        "action space, which offers theories to corroborate the experiment findings. "
        "For example, on one dataset the pipeline improves accuracy by 12%. "
        "Experiments on three LLMs show the pipeline improves accuracy by 4.5% over the baseline."))
    assert contribution_sentence(paper).startswith("This minimalist configuration connects to multi-armed bandit")
    assert result_sentence(paper).startswith("Experiments on three LLMs show")
