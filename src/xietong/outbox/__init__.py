"""Transactional outbox: whatever someone must act on, written with its cause, delivered after."""
