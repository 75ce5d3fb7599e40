"""The studio: ImageStudio, the notebook widget for one prompt, its sources, its mask and its results."""

from ._studio import ImageStudio

__all__ = ["ImageStudio"]
