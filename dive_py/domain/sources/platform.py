"""Provides platform strings (``os/arch[/variant]``) and the host's default platform.

Names follow the OCI image spec (image-index.md "platform"): GOOS/GOARCH values such as
``linux/amd64`` and ``linux/arm64/v8``.
"""

from __future__ import annotations

import platform as _platform
from dataclasses import dataclass
from typing import Any

from dive_py.errors import UsageError

_MACHINE_TO_ARCH = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv7l": "arm",
    "armv6l": "arm",
    "i386": "386",
    "i686": "386",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
}


@dataclass(frozen=True, slots=True)
class Platform:
    """An OCI platform: operating system, architecture and optional variant."""

    os: str
    architecture: str
    variant: str = ""

    def __str__(self) -> str:
        base = f"{self.os}/{self.architecture}"
        return f"{base}/{self.variant}" if self.variant else base

    @classmethod
    def parse(cls, text: str) -> Platform:
        """Parse ``"os/arch[/variant]"``.

        Raises:
            UsageError: the text does not have two or three non-empty ``/``-separated parts.
        """
        parts = text.strip().split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise UsageError(
                f"bad --platform value {text!r}", "use os/arch or os/arch/variant, e.g. linux/amd64"
            )
        return cls(*parts)

    @classmethod
    def from_json(cls, data: Any) -> Platform | None:
        """Read a platform from a descriptor's ``platform`` object or an image config."""
        if not isinstance(data, dict):
            return None
        os_name = data.get("os")
        arch = data.get("architecture")
        if not isinstance(os_name, str) or not isinstance(arch, str):
            return None
        variant = data.get("variant")
        return cls(os_name, arch, variant if isinstance(variant, str) else "")

    def matches(self, wanted: Platform) -> bool:
        """True when this platform satisfies ``wanted`` (an empty wanted variant matches any)."""
        return (
            self.os == wanted.os
            and self.architecture == wanted.architecture
            and (not wanted.variant or self.variant == wanted.variant)
        )


def host_platform() -> Platform:
    """Return the platform of the machine divepy runs on (``linux/amd64`` on x86-64 Linux)."""
    machine = _platform.machine().lower()
    return Platform("linux", _MACHINE_TO_ARCH.get(machine, machine))
