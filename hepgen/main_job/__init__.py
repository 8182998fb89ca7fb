"""The main job (`hepgen quickstart`, :mod:`hepgen.quickstart`) in parts: the input checks, the sections that
predict and validate, and the training check."""
