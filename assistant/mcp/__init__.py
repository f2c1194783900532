"""The MCP server: the papers as tools for the user's own LLM client."""
