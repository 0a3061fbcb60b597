"""The flights on the two-feed layout in LocalStack: departures without their outcome, arrivals in
a label feed by landing day, joined back by flight id."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from retrain.config import parse_config
from retrain.data.label_feed import feed_source, with_feed_labels
from retrain.data.maturity import ARRIVED
from retrain.data.s3 import Window, list_partitions, load_window
from retrain.samples.flights import ARRIVED_AT, ID, LABEL, flights_frame, seed_model
from retrain.settings import Settings
from retrain.training.pipeline import mask_immature_labels
from tests.helpers import empty_bucket

pytestmark = [pytest.mark.integration]


def test_two_feeds_give_back_every_label_that_landed_before_as_of(stack: Settings, s3: Any) -> None:
    raw = yaml.safe_load(Path("deployments/two_feeds/flights_delay.yaml").read_text())
    suffix = uuid.uuid4().hex[:8]
    raw["data"]["prefix"] = f"tests/flights-feed-{suffix}/departures"
    raw["labels"]["prefix"] = f"tests/flights-feed-{suffix}/arrivals"

    config = parse_config(raw)
    start, as_of = date(2013, 1, 1), date(2013, 1, 5)
    try:
        seeded = seed_model(s3, config, start, as_of)
        assert seeded.rows == seeded.label_rows > 3000
        assert seed_model(s3, config, start, as_of).rows == 0  # a second seeding writes nothing
        arrival_days = list_partitions(s3, feed_source(config), Window(start, date(2013, 1, 7)))
        assert max(arrival_days) == as_of  # the evening's last flights land on the next UTC day

        loaded = load_window(s3, config.data, config.columns, Window(start, as_of))
        assert LABEL in loaded.frame.attrs["missing_columns"]  # departures carry no outcome
        frame = with_feed_labels(s3, config, loaded.frame, Window(start, as_of), as_of)
        frame = mask_immature_labels(frame, config, as_of)

        truth = flights_frame(arrivals=True).set_index(ID).loc[frame[ID]]
        landed = (truth[ARRIVED_AT] < pd.Timestamp(as_of, tz="UTC")).to_numpy()
        assert frame[LABEL].notna().to_numpy().tolist() == landed.tolist()
        assert (frame[LABEL].to_numpy()[landed] == truth[LABEL].to_numpy()[landed]).all()
        assert (frame[ARRIVED].to_numpy()[landed] == truth[ARRIVED_AT].to_numpy()[landed]).all()
        assert 0 < (~landed).sum() < 300  # only the last evening's flights are still in the air
        counts = frame.attrs["label_feed"]
        assert (counts["orphans"], counts["duplicates"], counts["corrected"]) == (0, 0, 0)
        assert LABEL not in frame.attrs["missing_columns"]
    finally:
        empty_bucket(s3, config.data.bucket, f"tests/flights-feed-{suffix}/")
