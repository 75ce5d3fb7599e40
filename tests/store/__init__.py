"""Tests of anyfast_widget.store."""
