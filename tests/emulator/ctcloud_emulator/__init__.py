"""Local emulator of the CT and cThings cloud APIs described in docs/api-contract.md.

It is an independent implementation of that contract: nothing here imports the
collection's client code, so the two cannot share a bug.
"""

__version__ = "1.0.0"
