"""The architecture registry: name -> Arch instance."""

from bench.arch.base import Arch
from bench.registry import Registry

ARCHS: Registry[Arch] = Registry("arch")


def register(cls: type[Arch]) -> type[Arch]:
    ARCHS.add(cls.name, cls(), cls.__doc__ or "")
    return cls
