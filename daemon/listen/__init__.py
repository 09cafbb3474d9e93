"""Asking by voice: microphone capture, voice-activity detection and local speech recognition (faster-whisper).

    mic.py         the microphone: a sounddevice InputStream at the device's rate, resampled to 16 kHz, in memory
    vad.py         streaming voice-activity detection (Silero VAD, the model faster-whisper ships) for end of speech
    recognizer.py  the recogniser: one faster-whisper model, loaded once and kept warm, CPU int8 by default
    session.py     one spoken question: microphone -> VAD -> transcripts at pauses -> the final transcript
    talk.py        the talk hotkey's flow: barge-in, question box showing what was heard, status, timings

Audio never touches the disk unless `talk_debug_audio` is on.
"""

from __future__ import annotations

RATE = 16000  # what Whisper and Silero VAD take
