"""A HEPData record of the paper plots (``hepgen report RESULTS --hepdata DIR``), written with ``hepdata_lib``.

One table per figure, each value with its statistical error (the validation's bootstrap or Wilson error), units and
qualifiers (√s, the validation folder — which names the detector and sample —, the test events):

* pileup: the resolution against μ of every method, one table per observable (the panels of ``resolution_vs_mu``);
* neutrino: the resolution of px, py, pz per method and estimate (``residual_pz`` and the tables), and the calibration
  of every posterior (68 % and 95 % coverage, the KS distance of the truth quantiles; ``coverage``);
* dineutrino: each method's m(tt̄), cos θ and ν pz resolutions on the events it answers, its answered fraction
  (``m_ttbar``), and the calibration of the flows' posteriors.

The figure's PNG travels with its table as an additional resource. ``hepdata_lib`` validates the archive with
``hepdata-validator`` (as HEPData does on upload) before this returns; the folder is replaced only when the new one is
whole.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hepgen.errors import HepgenInputError
from hepgen.report.folders import ValidationFolder, find_validations
from hepgen.validation.headline import calibration_verdicts

__all__ = ["write_hepdata", "SQRT_S_TEV"]

#: The collision energy of every hepgen sample (Pythia 8, pp at 13 TeV).
SQRT_S_TEV = 13
_ARCHIVE = "submission.tar.gz"


@dataclass(frozen=True)
class _Place:
    """The results folder (qualifiers name validations relative to it), where figures are staged, and the
    qualifiers every value gets (e.g. the detector and the sample, which the metrics do not name)."""

    root: Path
    figures: Path
    qualifiers: dict[str, str]


def _lib():
    try:
        import hepdata_lib
    except ImportError:
        raise HepgenInputError(
            "hepgen report --hepdata needs hepdata_lib and hepdata-validator: pip install 'hepgen[hepdata]'"
        ) from None
    return hepdata_lib


def _variable(name: str, values: Sequence[Any], *, units: str = "", independent: bool = False):
    v = _lib().Variable(name, is_independent=independent, is_binned=False, units=units)
    v.values = list(values)
    return v


def _dependent(name: str, values, errors, *, units: str, qualifiers: dict[str, Any]):
    lib = _lib()
    v = _variable(name, values, units=units)
    stat = lib.Uncertainty("stat.", is_symmetric=True)
    stat.values = [abs(e) if e == e else 0.0 for e in errors]  # NaN (a single entry): no error known
    v.add_uncertainty(stat)
    v.zero_uncertainties_warning = False  # e.g. an answered fraction of exactly 1
    v.add_qualifier("SQRT(S)", SQRT_S_TEV, "TeV")
    for key, value in qualifiers.items():
        v.add_qualifier(key, value)
    return v


def _table(
    name: str,
    description: str,
    location: str,
    folder: ValidationFolder,
    place: _Place,
    figure: str,
    observables: list[str],
):
    table = _lib().Table(name[:64])
    table.description = description
    table.location = location
    table.keywords["reactions"] = ["P P --> TOP TOPBAR X"]
    table.keywords["observables"] = observables
    table.keywords["cmenergies"] = [SQRT_S_TEV * 1000]
    png = next(iter(sorted(folder.path.glob(f"{figure}*.png"))), folder.path / f"{figure}.png")
    if png.exists():  # the record is flat: the figure gets the folder's name, so two validations' figures never clash
        copy = place.figures / f"{folder.path.name}_{png.stem}.png"
        shutil.copyfile(png, copy)
        table.add_additional_resource(f"The figure ({figure})", str(copy), copy_file=True)
    return table


def _qualifiers(folder: ValidationFolder, place: _Place, events: int, unit: str) -> dict[str, Any]:
    where = {"validation": str(os.path.relpath(folder.path, place.root)), f"test {unit}": events}
    return where | place.qualifiers


def _pileup_tables(folder: ValidationFolder, place: _Place) -> list[Any]:
    metrics = folder.metrics
    points = sorted(
        (e for e in metrics["per_mu"].values() if not e.get("inefficiency")), key=lambda e: e["mu"]
    )  # the nominal detector's μ points, as in the figure
    methods = list(dict.fromkeys(m for e in points for m in e["methods"] if m != "vipr_samples"))
    tables = []
    for observable in metrics["observables"]:
        table = _table(
            f"Resolution vs mu {observable} {folder.path.name}",
            f"Relative resolution (IQR/1.349 of x/x_true - 1) of the jet's {observable} after pileup removal, per "
            "method, against the mean number of pileup interactions mu; statistical errors from a bootstrap over jets.",
            f"resolution_vs_mu, panel {observable}",
            folder,
            place,
            "resolution_vs_mu",
            ["RES"],
        )
        table.add_variable(_variable("mu", [e["mu"] for e in points], independent=True))
        for method in methods:
            entries = [e["methods"].get(method, {}).get(observable, {}) for e in points]
            if not all("resolution" in x for x in entries):
                continue
            q = _qualifiers(folder, place, points[0]["test_jets"], "jets") | {"method": method}
            table.add_variable(
                _dependent(
                    f"resolution ({method})",
                    [x["resolution"] for x in entries],
                    [x["resolution_err"] for x in entries],
                    units="",
                    qualifiers=q,
                )
            )
        tables.append(table)
    return tables


def _calibration_table(folder: ValidationFolder, place: _Place, events: int, figure: str) -> Any:
    rows = calibration_verdicts(folder.metrics)
    table = _table(
        f"Calibration {folder.path.name}",
        "Coverage of the central 68 % and 95 % intervals of every posterior (Wilson errors) and the KS distance of the "
        "truth quantiles from uniform.",
        figure,
        folder,
        place,
        figure,
        ["COVERAGE"],
    )
    table.add_variable(
        _variable("posterior", [f"{whose}: {quantity}" for whose, quantity, _ in rows], independent=True)
    )
    q = _qualifiers(folder, place, events, "events")
    for key, label in (("coverage_68", "68 % coverage"), ("coverage_95", "95 % coverage")):
        values = [c[key] for _, _, c in rows]
        table.add_variable(_dependent(label, values, [c[f"{key}_error"] for _, _, c in rows], units="", qualifiers=q))
    table.add_variable(_variable("KS distance", [c["ks"] for _, _, c in rows]))
    return table


def _resolutions(table: Any, entries: list[dict[str, Any]], units: dict[str, str], qualifiers: dict[str, Any]) -> None:
    """One column per quantity of ``units`` (→ its unit): each entry's resolution ± its error."""
    for quantity, unit in units.items():
        values = [e[quantity]["resolution"] for e in entries]
        errors = [e[quantity]["resolution_err"] for e in entries]
        table.add_variable(_dependent(f"{quantity} resolution", values, errors, units=unit, qualifiers=qualifiers))


def _neutrino_tables(folder: ValidationFolder, place: _Place) -> list[Any]:
    metrics = folder.metrics
    methods = metrics["methods"]
    table = _table(
        f"Neutrino resolutions {folder.path.name}",
        "Resolution (IQR/1.349 of predicted - true) of the neutrino's px, py, pz per method and point estimate, on "
        "independent test events; statistical errors from a bootstrap over events.",
        "residual_pz and the resolution table",
        folder,
        place,
        "residual_pz",
        ["RES"],
    )
    table.add_variable(_variable("method", list(methods), independent=True))
    q = _qualifiers(folder, place, metrics["events"], "events")
    _resolutions(table, [methods[m] for m in methods], {"px": "GeV", "py": "GeV", "pz": "GeV"}, q)
    return [table, _calibration_table(folder, place, metrics["events"], "coverage")]


def _dineutrino_tables(folder: ValidationFolder, place: _Place) -> list[Any]:
    metrics = folder.metrics
    methods = metrics["methods"]
    table = _table(
        f"Dilepton comparison {folder.path.name}",
        "Each method on the events it answers: the relative m(tt̄) resolution, the cos θ resolutions, the neutrino's "
        "pz resolution (GeV) and the answered fraction (binomial error); statistical errors from a bootstrap.",
        "m_ttbar and the comparison table",
        folder,
        place,
        "m_ttbar",
        ["RES", "EFF"],
    )
    table.add_variable(_variable("method", list(methods), independent=True))
    q = _qualifiers(folder, place, metrics["events"], "events")
    units = {"m_ttbar": "", "cos_theta_plus": "", "cos_theta_minus": "", "nu_pz": "GeV"}
    _resolutions(table, [methods[m]["answered_events"] for m in methods], units, q)
    answered = [methods[m]["answered"] for m in methods]
    errors = [methods[m]["answered_error"] for m in methods]
    table.add_variable(_dependent("answered fraction", answered, errors, units="", qualifiers=q))
    return [table, _calibration_table(folder, place, metrics["events"], "coverage")]


_TABLES = {"pileup": _pileup_tables, "neutrino": _neutrino_tables, "dineutrino": _dineutrino_tables}


def write_hepdata(root: str | os.PathLike, out: str | os.PathLike, qualifiers: dict[str, str] | None = None) -> Path:
    """Write the HEPData submission of the validations in ``root`` to the folder ``out`` (``submission.yaml``, one
    YAML per table and the figures) and the archive to upload beside it (``out.tar.gz``), validated; returns ``out``.
    ``qualifiers`` (name → value, e.g. ``{"detector": "CMS-like, Delphes CMS card"}``) are added to every value."""
    root, out = Path(root), Path(out)
    lib = _lib()
    folders = [f for f in find_validations(root) if f.kind in _TABLES and f.metrics is not None]
    if not folders:
        raise HepgenInputError(f"{str(root)!r} holds no finished validation to write to HEPData")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    place = _Place(root, staging / "figures", dict(qualifiers or {}))
    place.figures.mkdir()
    submission = lib.Submission()
    submission.comment = (
        "hepgen validations: resolutions and calibration of generative posteriors against classical methods."
    )
    names: set[str] = set()
    try:
        for folder in folders:
            for table in _TABLES[folder.kind](folder, place):
                if table.name in names:
                    raise HepgenInputError(f"two validations give the table name {table.name!r}; rename one folder")
                names.add(table.name)
                submission.add_table(table)
        with contextlib.chdir(staging):  # hepdata_lib writes its archive into the working folder
            submission.create_files("record", validate=True)
        archive = out.parent / f"{out.name}.tar.gz"
        os.replace(staging / _ARCHIVE, archive)  # beside the folder: the validator refuses files a record does not name
        if out.exists():
            shutil.rmtree(out)
        (staging / "record").rename(out)
    except AssertionError as error:  # hepdata_lib's way of saying the validator refused the archive
        raise HepgenInputError(f"the HEPData validator refused the record: {error}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out
