"""Measures: questionnaires for measurement-based care, each partner's own."""
