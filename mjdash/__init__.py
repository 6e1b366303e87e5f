"""mjdash: a terminal dashboard for Midjourney tasks."""

__version__ = "0.1.0"
