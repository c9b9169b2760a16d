class PracticeError(Exception):
    """A practice change that is not allowed; the message says why."""
