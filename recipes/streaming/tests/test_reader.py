"""What a subscriber shows, from the items it reads (``StreamReader``: the rule, no I/O, no server): a retried
model call's text replaces the lost attempt's instead of being glued onto it."""

from __future__ import annotations

from recipes.streaming.subscriber import StreamReader
from recipes.streaming.transcript import MODEL_EVENTS_TOPIC, TRANSCRIPT_TOPIC, Segment, Snapshot


def read(*items: tuple[str, object]) -> tuple[StreamReader, list[str]]:
    reader = StreamReader()
    kinds = [update.kind for offset, (topic, data) in enumerate(items)
             if (update := reader.apply(topic, data, offset)) is not None]  # fmt: skip
    return reader, kinds


def created() -> tuple[str, dict]:
    return MODEL_EVENTS_TOPIC, {"type": "response.created"}


def delta(text: str) -> tuple[str, dict]:
    return MODEL_EVENTS_TOPIC, {"type": "response.output_text.delta", "delta": text}


def test_a_retried_attempt_withdraws_the_lost_attempts_text():
    reader, kinds = read((TRANSCRIPT_TOPIC, Snapshot()), created(), delta("No alerts in"),
                         created(), delta("No active alerts for CA."))  # fmt: skip
    assert reader.view.text == "No active alerts for CA." and reader.withdrawn == ["No alerts in"], reader.view
    assert kinds == ["snapshot", "delta", "withdrawn", "delta"], kinds


def test_a_snapshot_that_does_not_continue_the_shown_text_replaces_it():
    """The attempt that counted streamed while this subscriber was cut off: the durable text wins."""
    counted = Snapshot(segments=(Segment("text", text="No active alerts for CA."),), status="done")
    reader, kinds = read((TRANSCRIPT_TOPIC, Snapshot()), created(), delta("Severe storms"), (TRANSCRIPT_TOPIC, counted))
    assert reader.view.text == "No active alerts for CA." and reader.withdrawn == ["Severe storms"], reader.view
    assert kinds[-1] == "done", kinds


def test_text_from_an_attempt_no_longer_open_is_ignored():
    """A superseded attempt's last batch can arrive after the snapshot that closed it."""
    reader, kinds = read((TRANSCRIPT_TOPIC, Snapshot()), delta("late words"))
    assert reader.view.text == "" and kinds == ["snapshot"], reader.view


def numbered(n: int, event: tuple[str, dict]) -> tuple[str, dict]:
    return event[0], {**event[1], "sequence_number": n}


def test_an_attempt_still_streaming_beside_its_retry_is_not_glued_into_the_retrys_text():
    """The server was down past the heartbeat timeout: attempt 2 starts while attempt 1 still streams, and
    their batches interleave in the log. Seen in the suite: the view showed 'Result "3 '."""
    reader, kinds = read((TRANSCRIPT_TOPIC, Snapshot()),
                         numbered(0, created()), numbered(1, delta("Result ")), numbered(2, delta("of ")),
                         numbered(0, created()), numbered(1, delta("Result ")),
                         numbered(3, delta('"3 ')),  # attempt 1, late
                         numbered(2, delta("of ")), numbered(3, delta('"3 ')))  # fmt: skip
    assert reader.view.text == 'Result of "3 ' and reader.withdrawn == ["Result of "], reader.view
    assert kinds == ["snapshot", "delta", "delta", "withdrawn", "delta", "delta", "delta"], kinds
