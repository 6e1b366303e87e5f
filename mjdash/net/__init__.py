"""Talking to the server: the HTTP client, backoff, the poller and paced submits."""
