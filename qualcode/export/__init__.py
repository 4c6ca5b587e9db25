"""Exports of coded results to other tools and formats."""
