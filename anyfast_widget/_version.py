"""The package's version, in one place (the User-Agent and ``anyfast_widget.__version__`` read it)."""

__version__ = "0.1.0"
