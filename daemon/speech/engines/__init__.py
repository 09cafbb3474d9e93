"""Speech engines, one file each, all implementing `base.Engine` (XTTS, with its model and streamer, is the
package `daemon.speech.xtts`; its engine is `daemon/speech/xtts/engine.py`). The system voice (`system.py`)
runs its children through `child.py` and speaks with one of two backends: `espeak.py` or `sapi.py`."""
