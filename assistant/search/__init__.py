"""Question analysis and retrieval: which papers a question is about."""
