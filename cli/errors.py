"""User-facing errors: one line, an exit code, no traceback."""

from __future__ import annotations


class UserError(Exception):
    """A mistake the user can fix; printed as one line naming the fix, exit code 2."""

    exit_code = 2


class DataUnavailableError(UserError):
    """A dataset is neither in the data root nor in the mirror, and cannot be downloaded."""


class DataCorruptError(UserError):
    """A dataset file exists but its checksum does not match the manifest."""
