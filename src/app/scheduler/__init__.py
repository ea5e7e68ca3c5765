"""The scheduler: leader election and the dispatch tick."""
