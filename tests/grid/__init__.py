"""Tests of anyfast_widget.grid."""
