
from assistant.search.retrieval import author_matches


def test_author_matching_ignores_order_case_and_accents():
    assert author_matches("chen ding", "Chen Ding") and author_matches("Ding Chen", "Chen Ding")
    assert author_matches("Zoe Muller", "Zoë Müller")
    assert not author_matches("Chen", "Wei Zhang")
