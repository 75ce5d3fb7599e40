"""Tests of anyfast_widget.client."""
