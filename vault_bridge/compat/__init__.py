"""PLANQK-compatible surfaces: ``/qc-catalog`` for the PLANQK CLI, ``/quantum`` for the SDK."""
