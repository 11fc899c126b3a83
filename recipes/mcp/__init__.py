"""MCP recipe: the weather tools served by an MCP server of our own (:mod:`recipes.mcp.server`)."""
