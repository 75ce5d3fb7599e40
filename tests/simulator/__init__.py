"""Tests of anyfast_widget.simulator."""
