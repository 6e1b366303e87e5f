"""The domain: tasks, views, batch insight, reports and exports. Imports nothing else of mjdash."""
