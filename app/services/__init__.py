"""Use cases. UI handlers and CLI commands are thin calls into these modules."""
