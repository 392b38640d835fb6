"""The endpoint catalogue: every Engine API endpoint as a pure function returning a Call.

Each function takes the API version in use (None: unprefixed, the engine's
newest) and refuses, with :class:`wireproto.errors.UnsupportedInVersion`,
what that version lacks (:mod:`wireproto.api.gates` holds the table).
"""
