"""The classifier's former module name: see :mod:`hepgen.tasks.pileup.puppiml`."""

from hepgen.tasks.pileup.puppiml import *  # noqa: F403
from hepgen.tasks.pileup.puppiml import __all__  # noqa: F401
