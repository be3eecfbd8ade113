"""Log lines as JSON (the ``log_format`` setting ``json``): one object per line with time, level,
logger and message, and the exception's traceback when there is one."""
from __future__ import annotations

import json
import logging
from datetime import UTC, datetime


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        entry.update(self.context())
        return json.dumps(entry, ensure_ascii=False)

    def context(self) -> dict:
        """More fields of the moment the record was made (none here)."""
        return {}
