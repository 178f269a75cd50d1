"""Watching an engine run: Prometheus metrics, the live dashboard and the
terminal stats view."""
