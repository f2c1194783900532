"""The daily reader's tools: what's new, the watchlist, exports, summary checks."""
