"""The `replay` source: recorded call records (JSON lines) played back as live calls."""
