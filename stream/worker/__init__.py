"""The worker: a faust app around the pure domain. `root.Pipeline` is the composition root."""

from stream.worker.faust_config import faust_settings
from stream.worker.root import Pipeline

__all__ = ["Pipeline", "faust_settings"]
