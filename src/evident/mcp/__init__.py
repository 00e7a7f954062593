"""The MCP front end (`evident mcp`). Import evident.mcp.server only where it runs: the
MCP SDK is loaded lazily so `evident --help` stays light."""
