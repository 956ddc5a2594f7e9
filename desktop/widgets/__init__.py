"""The widgets of the agent workspace; each takes plain data and emits signals (no services inside)."""
