"""Tests of anyfast_widget.studio."""
