"""The go-live checklist, automated: gates probed from outside, GO or NO-GO."""
