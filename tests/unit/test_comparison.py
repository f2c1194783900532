"""Comparison questions read by their form: two named sides, or two papers described one after the
other. No model, no store."""
from assistant.search.comparison import detect_comparison


def test_named_sides_are_read_as_names():
    comparison = detect_comparison("How do KVzap and SIP differ in how they compress the KV cache?")
    assert comparison.sides == ("KVzap", "SIP") and not comparison.described


def test_two_papers_described_one_after_the_other_are_two_sides():
    cases = {
        "Two papers handle interference in multi-task adapters: one mixes adapter experts for medical tasks, "
        "the other projects away conflicting gradients. Compare them.":
            ("mixes adapter experts for medical tasks", "projects away conflicting gradients"),
        "How do the two route planners differ - the one that trains an RL agent on harder and harder instances "
        "versus the transformer that clusters nearby customers?":
            ("that trains an RL agent on harder and harder instances", "that clusters nearby customers"),
        "Compare the two approaches to deleting graph nodes: one that cares about group fairness and one that "
        "uses memorization to judge how hard a deletion is.":
            ("that cares about group fairness", "that uses memorization to judge how hard a deletion is"),
        "How does the study that probes inside TabPFN's layers relate to the one asking whether fine-tuning "
        "tabular foundation models is worth it?":
            ("the study that probes inside TabPFN's layers",
             "the one asking whether fine-tuning tabular foundation models is worth it"),
    }
    for question, sides in cases.items():
        comparison = detect_comparison(question)
        assert comparison is not None and comparison.described, question
        assert comparison.sides == sides, question


def test_questions_without_two_described_sides_are_not_comparisons():
    for question in ("Which papers study KV cache compression?",
                     "What does the one paper on sparse attention report?",
                     "Is there one method that works on both images and text?",
                     "By how much does the one that prunes tokens cut memory compared with the other baseline?",
                     "Two papers by the same pair of authors use probabilistic bits; how do their approaches differ?"):
        comparison = detect_comparison(question)
        assert comparison is None or not comparison.described, question
