"""Models that remember how they were built, so that a model file rebuilds them (:mod:`hepgen.tasks.run_folder`).

A task's model subclasses :class:`ConfiguredModel` and passes its constructor's arguments up, first thing::

    class MyModel(ConfiguredModel):
        def __init__(self, *, dim: int = 64, heads: int = 4, saved_with: dict | None = None) -> None:
            super().__init__(locals())

``model.config`` is then ``{"dim": ..., "heads": ...}`` (what a model file stores; ``type(model)(**config)`` builds
the same network) and ``model.saved_with`` what the model file holds beside the weights (empty for a new model).
"""

from __future__ import annotations

from typing import Any

from torch import nn

__all__ = ["ConfiguredModel"]


class ConfiguredModel(nn.Module):
    """An ``nn.Module`` with ``config`` (its constructor's arguments) and ``saved_with`` (see the module)."""

    def __init__(self, arguments: dict[str, Any]) -> None:
        super().__init__()
        config = {k: v for k, v in arguments.items() if k not in ("self", "__class__")}
        #: What the model file holds beside the weights (the training settings of the data, ...), or empty.
        self.saved_with: dict[str, Any] = dict(config.pop("saved_with", None) or {})
        #: The constructor's arguments: ``type(self)(**config)`` builds the same network.
        self.config: dict[str, Any] = config
