"""Uploads are counted before any is read, and each is read at most one byte past the cap."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from urbangov.cases.uploads import read_uploads


class CountedUpload(SimpleUploadedFile):
    """An uploaded file that records how many bytes were read from it."""

    def __init__(self, name: str, content: bytes) -> None:
        super().__init__(name, content, content_type="image/png")
        self.bytes_read = 0

    def read(self, *args: Any, **kwargs: Any) -> bytes:
        data = super().read(*args, **kwargs)
        self.bytes_read += len(data)
        return data


def test_too_many_files_are_refused_before_any_is_read(settings: Any) -> None:
    most = settings.URBANGOV["ATTACHMENTS_PER_CASE"]
    files = [CountedUpload(f"p{i}.png", b"x" * 1000) for i in range(most + 1)]
    with translation.override("en"), pytest.raises(ValidationError) as info:
        read_uploads(files)
    assert info.value.message_dict == {"attachments": [f"At most {most} files may be attached."]}
    assert [f.bytes_read for f in files] == [0] * (most + 1)
    # As many as a case may carry are read.
    assert len(read_uploads(files[:most])) == most


def test_each_file_is_read_one_byte_past_the_cap_at_most(settings: Any) -> None:
    settings.URBANGOV = {**settings.URBANGOV, "ATTACHMENT_MAX_BYTES": 100}
    big, small = CountedUpload("big.png", b"x" * 10_000), CountedUpload("small.png", b"y" * 50)
    uploads = read_uploads([big, small])
    assert [len(u.content) for u in uploads] == [101, 50]
    assert (big.bytes_read, small.bytes_read) == (101, 50)
    assert [u.name for u in uploads] == ["big.png", "small.png"]
