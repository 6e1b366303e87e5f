"""Talking to the server: the HTTP client, backoff, URL checks, the poller and paced submits."""
