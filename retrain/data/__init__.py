"""The data side of a window: its partitions read from S3 and written there (`s3`), when a
label counts as known (`maturity`), the label feed joined to rows by id (`label_feed`),
label coverage and arrival lag (`label_coverage`), event timestamps (`timestamps`) and
the window's validation against the config and the champion's schema (`validation`)."""
