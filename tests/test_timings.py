"""One meaning per figure: every answer timing counts from the hotkey press (the delay users feel); no negative
figure, and the tooltip shows hotkey -> first audio only (the pipeline no longer publishes a second meaning)."""

from __future__ import annotations

from daemon.timings import AnswerTimings


def test_times_count_from_the_hotkey_and_are_never_negative() -> None:
    t = AnswerTimings("q", submitted=101.886, hotkey=100.0, request=101.9, first_token=102.2, first_sentence=102.4,
                      first_audio=102.5, end=104.0)
    assert t.first_audio_s == 2.5  # includes typing the question: what the user feels after pressing the hotkey
    line = t.describe()
    assert line.startswith("from the hotkey: question 1.886s, request 1.900s")
    assert "first audio 2.500s" in line and "-" not in line.replace("first ", "")


def test_without_a_hotkey_times_count_from_the_question() -> None:
    t = AnswerTimings("q", submitted=10.0, first_audio=10.4)
    assert round(t.first_audio_s or 0, 3) == 0.4
    assert t.describe().startswith("from the question: question 0.000s")
