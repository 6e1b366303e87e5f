"""The subcommands of `mjdash`, one module per concern; mjdash.cli parses and dispatches.

Every module keeps httpx (mjdash.net.client, mjdash.net.poller), asyncio, textual (mjdash.ui)
and the simulator (mjdash.sim) inside the functions that use them, so importing mjdash.cli
stays light.
"""
