"""Desktop integration: tray icon and menu, notifications, hotkeys, question box, autostart."""
