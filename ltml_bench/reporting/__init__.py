"""Reporting: tables and leaderboards, plots, method pages, and scoring of a user's predictions."""
