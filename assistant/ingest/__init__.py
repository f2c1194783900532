"""Digest files -> papers -> chunks -> vectors -> the store."""
