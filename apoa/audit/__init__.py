"""The hash-chained audit log: every state change and every read of personal data."""
