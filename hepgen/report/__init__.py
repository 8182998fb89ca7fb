"""The report of a results folder: the page a physicist opens (:mod:`hepgen.report.page`) and the HEPData record
(:mod:`hepgen.report.hepdata`), for any folder of validations (:mod:`hepgen.report.folders`)."""
