"""VoxTray: a tray daemon that speaks a remote LLM's answers in a cloned voice."""

__version__ = "0.1.0"
APP_ID = "voxtray"
