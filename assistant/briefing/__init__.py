"""Category briefings: one category's papers over chosen digests, grouped into named themes, one
cited line per paper, the numbers worth knowing, and a table, every paper accounted for exactly once.

The library API used by `digestqa brief` and the UI's briefing page is `build_briefing`.
"""
from assistant.briefing.build import build_briefing
from assistant.briefing.model import Briefing, NumberItem, Theme

__all__ = ["build_briefing", "Briefing", "Theme", "NumberItem"]
