"""Who must not be called, and forgetting people: the do-not-call list, erasure, retention."""
