#!/usr/bin/env python3
"""tests/tools/ui_browser.py: drives a real headless Chromium through weft ui's
page for tests/tools/weft_ui_test.cpp, over the DevTools protocol.

Usage: ui_browser.py URL WORKER_ID GOROUTINE_NAME SCREENSHOT.png

Loads URL, waits until the tree shows the worker (li.worker[data-id=ID]),
clicks it with a real mouse event at its place on the screen
(Input.dispatchMouseEvent), waits until the goroutine table
(table#goroutines) lists GOROUTINE_NAME, and saves a screenshot. Then
Stacks must show the goroutine's name, Record 5 s trace must download a
trace with events, and Kill must ask to confirm: once
dismissed (nothing happens), once accepted (the worker ends and leaves the
tree). Prints
one line per step; exits 0 when all passed, 1 with the reason when one did
not in time, 3 when no Chromium is installed.

Chromium: $WEFT_CHROMIUM, else `chromium` (Debian's package) on PATH.
Only the standard library: the WebSocket client below is the small part
of RFC 6455 DevTools needs (text frames, client-masked, no extensions).
"""
import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

STEP_TIMEOUT = 30  # seconds for each wait; the page refreshes every 2 s


class WebSocket:
    def __init__(self, url):
        assert url.startswith("ws://")
        hostport, _, path = url[5:].partition("/")
        host, _, port = hostport.partition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=STEP_TIMEOUT)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise RuntimeError("DevTools closed the WebSocket handshake")
            head += chunk
        head, _, self.buf = head.partition(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise RuntimeError("DevTools refused the WebSocket: " + head.decode(errors="replace"))

    def send(self, text):
        data = text.encode()
        mask = os.urandom(4)
        n = len(data)
        if n < 126:
            header = struct.pack("!BB", 0x81, 0x80 | n)
        elif n < 65536:
            header = struct.pack("!BBH", 0x81, 0x80 | 126, n)
        else:
            header = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.sock.sendall(header + mask + masked)

    def _take(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise RuntimeError("DevTools closed the WebSocket")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self):
        message = b""
        while True:
            b0, b1 = self._take(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._take(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._take(8))[0]
            payload = self._take(n)  # the server does not mask
            opcode = b0 & 0x0F
            if opcode == 8:
                raise RuntimeError("DevTools closed the WebSocket")
            if opcode in (9, 10):  # ping, pong: not used by DevTools
                continue
            message += payload
            if b0 & 0x80:
                return message.decode()


class DevTools:
    def __init__(self, ws):
        self.ws = ws
        self.next_id = 1
        self.accept_dialogs = False  # how the next confirm() is answered
        self.dialogs = []  # the messages of those that opened

    def _send(self, method, params):
        mid = self.next_id
        self.next_id += 1
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params}))
        return mid

    def call(self, method, **params):
        mid = self._send(method, params)
        while True:
            m = json.loads(self.ws.recv())
            if m.get("method") == "Page.javascriptDialogOpening":
                # The page waits in confirm(), and the call that opened it
                # (a click) with it: answered here, its reply is skipped.
                self.dialogs.append(m["params"]["message"])
                self._send("Page.handleJavaScriptDialog", {"accept": self.accept_dialogs})
            if m.get("id") == mid:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})

    def evaluate(self, expression):
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expression}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def click(self, selector):
        """A real left click (mouse events) at the middle of the element."""
        box = self.evaluate(f"(() => {{ const r = document.querySelector({json.dumps(selector)}).getBoundingClientRect();"
                            " return {x: r.left + r.width / 2, y: r.top + r.height / 2}; })()")
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=box["x"], y=box["y"], button="left",
                      clickCount=0 if kind == "mouseMoved" else 1)

    def wait_for(self, what, expression):
        end = time.monotonic() + STEP_TIMEOUT
        while time.monotonic() < end:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.2)
        raise TimeoutError(f"{what}: not within {STEP_TIMEOUT} s")


def start_chromium(binary, profile):
    args = [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--no-default-browser-check", "--hide-scrollbars", "--window-size=1280,520",
            "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
            f"--user-data-dir={profile}", "about:blank"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=open(os.path.join(profile, "stderr"), "w"))
    port_file = os.path.join(profile, "DevToolsActivePort")
    end = time.monotonic() + STEP_TIMEOUT
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"{binary} ended with status {proc.returncode}: " +
                               open(os.path.join(profile, "stderr")).read()[-2000:])
        if os.path.exists(port_file):
            lines = open(port_file).read().split("\n")
            if lines and lines[0].strip().isdigit():
                return proc, int(lines[0])
        time.sleep(0.1)
    proc.kill()
    raise TimeoutError(f"{binary} did not open its DevTools port within {STEP_TIMEOUT} s")


def main():
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    url, worker, goroutine, screenshot = sys.argv[1:]
    binary = os.environ.get("WEFT_CHROMIUM") or shutil.which("chromium")
    if not binary:
        print("ui_browser: no chromium: install Debian's (apt-get install chromium; scripts/deps.sh lists it) or "
              "set WEFT_CHROMIUM to a Chromium binary", file=sys.stderr)
        return 3
    profile = tempfile.mkdtemp(prefix="weft-ui-chromium-")
    proc = None
    try:
        proc, port = start_chromium(binary, profile)
        print(f"chromium: DevTools on port {port}", flush=True)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=STEP_TIMEOUT) as r:
            pages = [t for t in json.load(r) if t.get("type") == "page"]
        if not pages:
            raise RuntimeError("chromium has no page to drive")
        dt = DevTools(WebSocket(pages[0]["webSocketDebuggerUrl"]))
        dt.call("Page.enable")
        dt.call("Page.navigate", url=url)
        selector = json.dumps(f'li.worker[data-id="{worker}"]')
        dt.wait_for(f"the tree shows worker {worker}", f"!!document.querySelector({selector})")
        print(f"tree: shows {worker}", flush=True)
        dt.click(f'li.worker[data-id="{worker}"]')
        dt.wait_for("the clicked worker is selected",
                    f"document.querySelector({selector}).classList.contains('selected')")
        print(f"click: selected {worker}", flush=True)
        names = dt.wait_for(
            f"the goroutine table lists {goroutine}",
            "(() => { const t = document.getElementById('goroutines'); if (!t) return null;"
            " const names = [...t.querySelectorAll('tbody tr')].map(r => r.cells[1].textContent);"
            f" return names.includes({json.dumps(goroutine)}) ? names : null; }})()")
        print(f"goroutines: table lists {goroutine} among {len(names)}", flush=True)
        # Let the vitals of the same refresh land before the picture.
        dt.wait_for("the vitals show", "document.querySelectorAll('#vitals .vital').length > 0")
        shot = dt.call("Page.captureScreenshot", format="png")
        with open(screenshot, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        print(f"screenshot: {screenshot}", flush=True)

        dt.click("#stacks")
        dt.wait_for(f"the stacks show {goroutine}",
                    f"document.getElementById('stack').textContent.includes({json.dumps(chr(34) + goroutine + chr(34))})")
        print(f"stacks: show {goroutine}", flush=True)

        # The trace button records 5 s and hands the browser the file.
        dt.call("Browser.setDownloadBehavior", behavior="allow", downloadPath=profile, eventsEnabled=True)
        dt.click("#trace")
        dt.wait_for("the page saved the trace",
                    "document.getElementById('action').textContent.startsWith('saved weft-trace-')")
        saved = dt.evaluate("document.getElementById('action').textContent").split(":")[0][len("saved "):]
        path = os.path.join(profile, saved)
        end = time.monotonic() + STEP_TIMEOUT
        while not (os.path.exists(path) and os.path.getsize(path) > 0) and time.monotonic() < end:
            time.sleep(0.2)
        with open(path) as f:
            events = len(json.load(f)["traceEvents"])
        print(f"trace: downloaded {saved} ({events} events)", flush=True)
        dt.evaluate("document.getElementById('action').textContent = ''")

        # Kill asks first: dismissed, nothing happens; confirmed, the
        # worker ends and leaves the tree.
        dt.click("#kill")
        if len(dt.dialogs) != 1 or f"Kill worker {worker}?" not in dt.dialogs[0]:
            raise RuntimeError(f"Kill did not ask to confirm killing {worker}: {dt.dialogs}")
        time.sleep(0.5)
        if dt.evaluate("document.getElementById('action').textContent"):
            raise RuntimeError("Kill acted although its confirmation was dismissed")
        dt.accept_dialogs = True
        dt.click("#kill")
        dt.wait_for(f"the page says {worker} ended",
                    f"document.getElementById('action').textContent.startsWith({json.dumps(worker + ': ')})")
        dt.wait_for(f"{worker} leaves the tree", f"!document.querySelector({selector})")
        print(f"kill: asked to confirm; {worker} ended and left the tree", flush=True)
        try:
            dt.call("Browser.close")
        except RuntimeError:
            pass  # closing: the socket may go before the reply
        return 0
    except (RuntimeError, TimeoutError, OSError, ValueError, KeyError) as e:
        print(f"ui_browser: {e}", file=sys.stderr)
        return 1
    finally:
        if proc is not None:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
