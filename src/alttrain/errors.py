"""One exception type for every user-facing fault: the CLI prints its message and exits non-zero."""


class UserError(Exception):
    """A fault in the user's input (config, data file, published-numbers file) with a message naming the fix."""
