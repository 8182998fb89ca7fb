"""The neutrino validation's former module name (analyses and notebooks import it): see :mod:`hepgen.validation.neutrino`."""

from hepgen.validation.neutrino import *  # noqa: F403
from hepgen.validation.neutrino import __all__  # noqa: F401
