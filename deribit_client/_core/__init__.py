"""The venue-neutral engine: wire-protocol interface, connection driver, supervisor, streams.

Nothing in this package knows Deribit or Exberry; the venues plug their sans-I/O protocols,
establish steps and policies into it.
"""
