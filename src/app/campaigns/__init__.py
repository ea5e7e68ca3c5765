"""Campaigns: the survey definition, its contacts, and the do-not-call list."""
