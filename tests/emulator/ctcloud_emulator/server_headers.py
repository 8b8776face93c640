"""Signals from the application to the HTTP request handler (never sent to a client)."""

# A response carrying this header is not sent: the handler closes the connection unanswered, as a reply lost on the way.
DROP_CONNECTION_HEADER = "X-Emulator-Drop-Connection"
