"""The notebook extension: ``%load_ext anyfast_widget`` registers the ``%anyfast`` / ``%%anyfast`` magics."""

from ._magics import AnyfastMagics, load_ipython_extension

__all__ = ["AnyfastMagics", "load_ipython_extension"]
