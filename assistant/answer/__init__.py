"""From retrieved papers to an answer whose citations are checked."""
