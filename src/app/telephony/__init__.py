"""Telephony providers behind one interface."""
