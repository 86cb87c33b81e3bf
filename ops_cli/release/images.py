"""Container image references pinned by digest, as the build workflow records them."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

from ops_cli.errors import ConfigError

_REFERENCE = re.compile(
    r"^(?P<repository>[a-z0-9]+(?:[.-][a-z0-9]+)*(?::[0-9]+(?=/))?"  # host, a port only before /
    r"(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)"  # path components
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"@(?P<digest>sha256:[a-f0-9]{64})$"
)


class ImageRef(BaseModel):
    """One image of a release: repository, the tag it was built as, and its digest."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    repository: str
    tag: str | None = None
    digest: str

    @property
    def pinned(self) -> str:
        """``repository@sha256:...``: what a runtime pulls, whatever the tag now points to."""
        return f"{self.repository}@{self.digest}"

    def nomad_tag(self, default_tag: str) -> str:
        """The tag part for a job whose image is ``repository:<tag>``: ``tag@digest``,
        so the job pulls exactly this digest."""
        return f"{self.tag or default_tag}@{self.digest}"


def parse_image(reference: str) -> ImageRef:
    """``repo[:tag]@sha256:<64 hex>`` -> :class:`ImageRef`; raises ConfigError naming the flag."""
    match = _REFERENCE.match(reference.strip())
    if not match:
        raise ConfigError(
            f"--image-digest {reference!r}: expected repository[:tag]@sha256:<64 hex digits>, "
            "e.g. ghcr.io/acme/crm-platform:1.2.0@sha256:4f1c..."
        )
    return ImageRef(**match.groupdict())


def parse_images(references: list[str]) -> list[ImageRef]:
    """Parse every reference, sorted by repository; one image per repository."""
    images = [parse_image(r) for part in references for r in part.split() if r]
    repositories = [i.repository for i in images]
    duplicates = sorted({r for r in repositories if repositories.count(r) > 1})
    if duplicates:
        raise ConfigError(f"--image-digest: more than one digest for {', '.join(duplicates)}")
    return sorted(images, key=lambda i: i.repository)
