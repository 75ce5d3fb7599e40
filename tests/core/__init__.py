"""Tests of anyfast_widget.core."""
