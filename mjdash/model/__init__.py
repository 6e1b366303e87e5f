"""The domain: tasks, views, batch insight, reports, exports, and the request shapes and URL
rules every layer shares. Imports nothing else of mjdash."""
