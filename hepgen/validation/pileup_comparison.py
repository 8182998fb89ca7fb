"""The pileup validation's former module name: see :mod:`hepgen.validation.pileup`."""

from hepgen.validation.pileup import *  # noqa: F403
from hepgen.validation.pileup import __all__  # noqa: F401
