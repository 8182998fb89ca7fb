"""The modules analyses and notebooks imported before the validation became a toolkit still import, with the same
names as the modules that replaced them."""

import importlib

import pytest


@pytest.mark.parametrize(
    "old, new",
    [
        ("hepgen.validation.neutrino_comparison", "hepgen.validation.neutrino"),
        ("hepgen.validation.dineutrino_comparison", "hepgen.validation.dineutrino"),
        ("hepgen.validation.pileup_comparison", "hepgen.validation.pileup"),
        ("hepgen.tasks.puppiml", "hepgen.tasks.pileup.puppiml"),
    ],
)
def test_old_module_names_still_import(old, new):
    before, now = importlib.import_module(old), importlib.import_module(new)
    assert before.__all__ == now.__all__ and all(getattr(before, name) is getattr(now, name) for name in now.__all__)
