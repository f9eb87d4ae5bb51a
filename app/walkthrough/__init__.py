"""Walkthrough mode: a guided tour, one step per stage of SemShareKV, over the current run's data."""
