"""I/O adapters: each moves bytes between a transport and a sans-IO exchange.

An adapter makes no protocol decision: it writes what the exchange wants
sent, reads, feeds, and hands out the exchange's events.
"""
