"""The dilepton validation's former module name (analyses import it): see :mod:`hepgen.validation.dineutrino`."""

from hepgen.validation.dineutrino import *  # noqa: F403
from hepgen.validation.dineutrino import __all__  # noqa: F401
