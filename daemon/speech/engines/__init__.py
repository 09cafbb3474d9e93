"""Speech engines, one file each, all implementing `base.Engine`."""
