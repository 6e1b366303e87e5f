"""Files on disk: the watchlist, the task cache, the journal, config, paths, atomic writes."""
