"""Start and stop real `hbm serve` processes (gunicorn workers) for multi-process and multi-node tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from tests.benchmarks.refresh import _callback_body, _layout_props

ROOT = Path(__file__).resolve().parents[1]
SECRET = "s" * 40


@dataclass
class Node:
    """One `hbm serve` process on a loopback port."""

    port: int
    proc: subprocess.Popen[str]
    log: Path
    sessions: list[requests.Session] = field(default_factory=list)

    @property
    def url(self) -> str:
        """Return the node's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        """Return what the node has written so far (stdout and stderr)."""
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        """Stop gunicorn (its workers follow) and wait for it."""
        for s in self.sessions:
            s.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def node_env(database_url: str, **extra: str) -> dict[str, str]:
    """Return the environment of a node: sign-in on, plain http, the given store."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HBM_") or k.startswith("HBM_TEST_")}
    env |= {"HBM_DATABASE_URL": database_url, "HBM_SECRET_KEY": SECRET, "HBM_COOKIE_SECURE": "false"}
    return env | extra


def start_node(port: int, env: dict[str, str], log: Path, workers: int = 2, timeout: float = 60) -> Node:
    """Start `hbm serve --workers N` on ``port`` and return it once /readyz answers 200."""
    handle = log.open("w")
    cmd = [sys.executable, "-m", "dashboard", "serve", "--workers", str(workers), "--port", str(port)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, text=True)
    node = Node(port, proc, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"hbm serve exited {proc.returncode}:\n{node.output()[-3000:]}")
        try:
            if requests.get(node.url + "/readyz", timeout=2).status_code == 200:
                return node
        except requests.RequestException:
            pass
        time.sleep(0.3)
    node.stop()
    raise AssertionError(f"hbm serve on {port} not ready in {timeout:g} s:\n{node.output()[-3000:]}")


def sign_in(node: Node, name: str, password: str) -> tuple[requests.Session, requests.Response]:
    """Sign in on ``node`` through the form; return the session and the POST's response."""
    s = requests.Session()
    node.sessions.append(s)
    page = s.get(node.url + "/login", timeout=10).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf, page[:500]
    form = {"name": name, "password": password, "csrf": csrf[1], "next": "/"}
    return s, s.post(node.url + "/login", data=form, allow_redirects=False, timeout=30)


class MapClient:
    """A signed-in browser's Dash traffic, reduced to the calls a poll makes."""

    def __init__(self, node: Node, name: str, password: str) -> None:
        self.node = node
        self.session, resp = sign_in(node, name, password)
        assert resp.status_code == 303, resp.text[:300]
        self.props = _layout_props(self.get_json("/_dash-layout"), {})
        self.deps = self.get_json("/_dash-dependencies")
        self.state: dict[tuple[str, str], Any] = {}

    def get_json(self, path: str) -> Any:
        resp = self.session.get(self.node.url + path, timeout=60)
        assert resp.status_code == 200, f"{path}: HTTP {resp.status_code}"
        return resp.json()

    def call(self, output_part: str) -> tuple[int, dict[str, Any]]:
        """Call the callback whose output names ``output_part``; return the HTTP status and its response."""
        dep = next(d for d in self.deps if output_part in d["output"])
        body = _callback_body(dep, self.props, self.state)
        resp = self.session.post(self.node.url + "/_dash-update-component", json=body, timeout=120)
        if resp.status_code != 200:
            return resp.status_code, {}
        out = resp.json().get("response", {})
        self.state |= {(cid, prop): v for cid, values in out.items() for prop, v in values.items()}
        return 200, out


def worker_pids(node: Node) -> set[int]:
    """Return the pids gunicorn says it booted workers with."""
    return {int(p) for p in re.findall(r"Booting worker with pid: (\d+)", node.output())}


def json_lines(text: str) -> list[dict[str, Any]]:
    """Return the lines of ``text`` that parse as JSON objects."""
    import json

    found = []
    for line in text.splitlines():
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            found.append(value)
    return found
