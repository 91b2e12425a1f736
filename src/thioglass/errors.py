"""The one exception type users see.

Every error a user can cause (bad composition, missing file, corrupt data, a run that
blows up) is raised as :class:`ThioglassError` with a single-line message that says what
went wrong and how to fix it. The CLI prints that line and exits with status 2.
"""


class ThioglassError(ValueError):
    """A user-facing error whose message is one line and says how to fix the problem."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))
