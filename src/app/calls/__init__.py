"""Calls: attempts, telephony events and the answers they produce."""
