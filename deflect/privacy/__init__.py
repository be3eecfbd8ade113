"""Personal data (GDPR) in German and English customer-service text: find it, redact it, audit a database.

    from deflect.privacy import Redactor, redact
    Redactor(allow=["0800 123 456 7"]).redact(text, known=["Hans Meier"])
    redact(text)  # with the allow-list of the privacy_allow setting
"""
from __future__ import annotations

from .findings import KINDS, PLACEHOLDERS, Finding, without_placeholders
from .redact import Redactor, default_redactor, redact
from .scan import mask, redact_json, scan

__all__ = ["KINDS", "PLACEHOLDERS", "Finding", "Redactor", "default_redactor", "mask", "redact", "redact_json",
           "scan", "without_placeholders"]
