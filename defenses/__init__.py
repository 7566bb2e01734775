"""Persona detection and the defenses: small, pure units the proxy's pipeline calls."""

from defenses.compiled import check_compiled

check_compiled()
