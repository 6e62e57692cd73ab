"""Hostile and broken images: reliability tests (issue 6)."""
