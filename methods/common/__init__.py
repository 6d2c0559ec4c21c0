"""Helpers shared by all methods: torch set-up, model selection, history, progress, metrics."""
