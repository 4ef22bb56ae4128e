"""`hbm serve --workers N`: the dashboard under gunicorn, several worker processes on one port."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from dashboard.logs import formatter
from dashboard.settings import AppSettings


class HbmLogger(Logger):
    """gunicorn's logger, writing its error log and access log in the dashboard's format."""

    def setup(self, cfg: Any) -> None:
        """Set gunicorn's handlers up; with HBM_LOG_FORMAT=json, make every line a JSON object."""
        super().setup(cfg)
        if _LOG_FORMAT[0] == "json":
            for log in (self.error_log, self.access_log):
                for handler in log.handlers:
                    handler.setFormatter(formatter("json"))

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        """Log one request: as a JSON object with HBM_LOG_FORMAT=json, else gunicorn's own line."""
        if _LOG_FORMAT[0] != "json":
            super().access(resp, req, environ, request_time)
            return
        if not self.cfg.accesslog:
            return
        status = str(getattr(resp, "status", "") or "").split(" ", 1)[0]
        self.access_log.info(
            "request",
            extra={
                "kind": "access",
                "remote": environ.get("REMOTE_ADDR"),
                "method": environ.get("REQUEST_METHOD"),
                "path": environ.get("PATH_INFO"),
                "status": int(status) if status.isdigit() else status,
                "bytes": getattr(resp, "sent", None),
                "ms": round(request_time.total_seconds() * 1000, 1),
                "user_agent": environ.get("HTTP_USER_AGENT", "")[:200],
            },
        )


_LOG_FORMAT = ["text"]  # set by serve(); read by HbmLogger inside the gunicorn arbiter and its workers


class HbmApplication(BaseApplication):  # type: ignore[misc]
    """A gunicorn application whose workers each build the dashboard from the environment."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        """Copy our options into gunicorn's config."""
        for key, value in self.options.items():
            if key in self.cfg.settings:  # options newer than the installed gunicorn are left out
                self.cfg.set(key, value)

    def load(self) -> Any:
        """Return the WSGI app (runs in each worker: no connection pool crosses a fork)."""
        from dashboard.wsgi import create_server

        return create_server()


def gunicorn_options(settings: AppSettings, workers: int) -> dict[str, Any]:
    """Return gunicorn's options for ``workers`` processes on the settings' host and port."""
    return {
        "bind": f"{settings.host}:{settings.port}",
        "workers": workers,
        "worker_class": "gthread",  # threads in each worker, as Dash's own server serves requests
        "threads": settings.threads,
        "timeout": settings.worker_timeout,
        "graceful_timeout": 20,
        "keepalive": 75,  # longer than a wall screen's poll: an idle keep-alive closed mid-request is an error
        "preload_app": False,
        "accesslog": "-" if settings.access_log else None,
        "errorlog": "-",
        "loglevel": "info",
        "logger_class": HbmLogger,
        "proc_name": "hbm",
        "control_socket_disable": True,  # gunicorn >= 25: one shared ~/.gunicorn/gunicorn.ctl would clash between nodes
        "forwarded_allow_ips": "127.0.0.1,::1",  # only a proxy on this machine may set X-Forwarded-Proto
    }


def serve(settings: AppSettings, workers: int) -> None:
    """Run the dashboard under gunicorn with ``workers`` processes until stopped."""
    _LOG_FORMAT[0] = settings.log_format
    started = datetime.now(UTC).isoformat(timespec="seconds")
    line = f"HBM map on http://{settings.host}:{settings.port} under gunicorn, {workers} worker(s) (Ctrl+C to stop)"
    if settings.log_format == "json":
        line = json.dumps({"time": started, "level": "info", "logger": "hbm", "message": line})
    print(line, flush=True)
    logging.getLogger("hbm").debug("gunicorn options: %s", gunicorn_options(settings, workers))
    HbmApplication(gunicorn_options(settings, workers)).run()
