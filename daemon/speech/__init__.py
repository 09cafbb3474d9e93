"""Speech: text cleanup, engines, routing between them, and audio output."""
