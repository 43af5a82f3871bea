"""The one error recovery reports as a sentence instead of a traceback."""


class RecoveryError(Exception):
    """A pulumi command failed, or an engine did not answer; the message says which and how."""
