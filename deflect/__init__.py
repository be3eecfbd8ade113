"""deflect: self-hosted contact deflection."""
__version__ = "0.1.0"
