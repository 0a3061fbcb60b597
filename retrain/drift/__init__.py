"""Drift of a window against the champion's reference: the reference statistics kept with a
champion (`reference`), Evidently's stattests computed from them (`measures`), one
column's verdict (`verdict`), the window's mergeable statistics for the batched path
(`window_stats`), a scanned window's drift with its reports (`window`), the whole-frame
run and its `DriftSummary` (`summary`), and the Evidently report (`report`)."""
