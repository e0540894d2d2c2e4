"""A Twilio-, Brevo- and OVHcloud-shaped SMS gateway simulator for the
integration tests and benchmarks (Python stdlib only).

Use from a test:
    from gateway_sim import GatewaySim
    sim = GatewaySim(auth_token="secret")
    sim.start()                 # sim.url == "http://127.0.0.1:PORT"
    ...                         # point relais' sms plugin at sim.url
    sim.wait_for(3, timeout=10)
    sim.messages                # unique deliveries
    sim.stop()

Standalone (benchmarks, the README's tour):
    python3 gateway_sim.py [--port N] --auth-token T [--delay 0.01]
        [--ovh-config FILE]
    Without --port (0: the kernel picks one, nothing to race for) it prints
    "gateway-sim listening on URL"; --ovh-config writes that URL into the
    file before. GET /_sim/stats answers {"messages": N, "requests": M}. --ovh-config
    writes the config lines that send SMS through the simulator's OVHcloud
    API (sms = {provider = "ovh"} and sms_ovh = {…} with its keys).

What it does:
- Twilio: POST /2010-04-01/Accounts/{sid}/Messages.json (form-encoded, HTTP
  Basic sid:auth_token) answers 201 with the Message resource JSON; bad
  credentials 401 (20003), a To that is not E.164 or is listed in
  sim.invalid_numbers 400 (21211).
- Brevo: POST /v3/transactionalSMS/send (JSON, header api-key) answers 201
  {"messageId": N}; bad key 401, bad recipient 400 invalid_parameter.
- OVHcloud: GET /1.0/auth/time answers the simulator's clock (time.time()
  + sim.ovh_skew, so a client must ask rather than use its own);
  POST /1.0/sms/{service}/jobs (JSON) checks X-Ovh-Application,
  X-Ovh-Consumer (403 INVALID_CREDENTIAL), X-Ovh-Timestamp within 30 s of
  its clock (400 QUERY_TIME_OUT) and X-Ovh-Signature = "$1$" + SHA-1 hex of
  AS+"+"+CK+"+"+METHOD+"+"+URL+"+"+BODY+"+"+TS with URL the full URL called
  (400 INVALID_SIGNATURE), then answers 200 {"totalCreditsRemoved",
  "invalidReceivers", "ids", "validReceivers"}: a receiver not E.164 or in
  sim.invalid_numbers is an invalid receiver (no id). sim.ovh_report()
  calls relais' delivery-report webhook as OVHcloud does (GET, id and ptt).
- A generic JSON gateway for third-party gateway plugins: POST /acme/send
  with "Authorization: Bearer <sim.acme_token>" records the JSON body and
  answers 201 {"id": "ACME-n"}; a number in sim.invalid_numbers gets 400
  {"message": "The number <to> is not valid"} (the number quoted, as some
  gateways do).
- All honour the Idempotency-Key header: a repeated key gets the first
  successful answer again (same sid) and is not a new delivery. The delivery
  is recorded before any delay, so a client that dies before reading the
  answer and retries with the same key is deduplicated.
- Failure injection: sim.fail_next(n, mode) makes the next N send requests
  fail with MODE: "500", "503", "429", "timeout" (hold the connection for
  30 s, then close it unanswered), "close" (close at once unanswered),
  "slow" (deliver, answer after sim.slow_seconds), "invalid" (21211 /
  invalid_parameter), "lost" (deliver, then close unanswered: the answer is
  lost, a retry with the same key must not deliver twice). sim.delay adds a
  pause to every send answer. sim.down() makes every connection fail at once
  (reset, unanswered) and drops the open ones; sim.up() serves again. The
  listening socket is kept meanwhile, so no other process can take the port
  (the simulator binds port 0 and keeps it). sim.hold() / sim.release() keep send requests
  waiting, unseen, until released.
- sim.messages: one dict per unique delivery: provider, to, body, from (and
  sender), idem_key, sid (Twilio "SM…" or Brevo's messageId as text),
  status, segments, status_callback, at. sim.requests: every request to a
  send endpoint: provider, path, headers (lower-case names), idem_key, body,
  form or json, fault (the injected mode or None), status, answer, dedup
  (answered from the idempotency memory), answered, at, done_at.
- Callbacks towards relais: sim.deliver() (StatusCallback) and sim.inbound()
  (incoming SMS) POST forms signed with X-Twilio-Signature exactly as Twilio
  signs them (see twilio_signature).
"""
import argparse
import base64
import email.utils
import hashlib
import hmac
import http.client
import http.server
import json
import re
import secrets
import signal
import socket
import struct
import sys
import threading
import time
import urllib.parse

E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")
TWILIO_PATH = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Messages\.json$")
BREVO_PATH = "/v3/transactionalSMS/send"
OVH_PATH = re.compile(r"^/1\.0/sms/([^/]+)/jobs$")
OVH_TIME_PATH = "/1.0/auth/time"
ACME_PATH = "/acme/send"
MODES = ("500", "503", "429", "timeout", "close", "slow", "invalid", "lost")
HOLD_SECONDS = 30.0

# GSM 03.38 basic table (without ESC) and extension table (2 septets each).
GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM_EXT = set("\f^{}\\[~]|€")


def twilio_signature(token, url, params):
    """X-Twilio-Signature: Base64(HMAC-SHA1(token, url + name+value for each
    POST parameter sorted by name)). PARAMS is a dict (values may be lists)
    or a list of (name, value) pairs."""
    items = params.items() if hasattr(params, "items") else params
    pairs = []
    for name, value in items:
        values = value if isinstance(value, (list, tuple)) else [value]
        for v in values:
            pairs.append((str(name), str(v)))
    pairs.sort()
    data = url + "".join(n + v for n, v in pairs)
    mac = hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(mac).decode()


def ovh_signature(secret, consumer, method, url, body, ts):
    """X-Ovh-Signature: "$1$" + SHA-1 hex of the secrets, method, full URL,
    body and timestamp joined by "+"."""
    data = "+".join([secret, consumer, method, url, body, str(ts)])
    return "$1$" + hashlib.sha1(data.encode()).hexdigest()


def sms_segments(text):
    """(segments, ucs2, units) as Twilio counts them: GSM-7 when every
    character is in GSM 03.38 (extension characters cost 2 septets), 160 in
    one part or 153 per part; else UCS-2, 70 or 67 UTF-16 units per part. An
    escape pair or a surrogate pair is never split across parts."""
    ucs2 = any(c not in GSM_BASIC and c not in GSM_EXT for c in text)
    if ucs2:
        sizes = [2 if ord(c) > 0xFFFF else 1 for c in text]
        single, part = 70, 67
    else:
        sizes = [2 if c in GSM_EXT else 1 for c in text]
        single, part = 160, 153
    units = sum(sizes)
    if units <= single:
        return 1, ucs2, units
    segments, used = 1, 0
    for s in sizes:
        if used + s > part:
            segments += 1
            used = 0
        used += s
    return segments, ucs2, units


def _rfc2822(t):
    return email.utils.formatdate(t, localtime=False, usegmt=False).replace("-0000", "+0000")


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, addr, sim):
        self.sim = sim
        self.conns = set()
        self.conns_lock = threading.Lock()
        super().__init__(addr, _Handler)

    def verify_request(self, request, client_address):
        # Down: the connection is reset unanswered, as by a gateway whose
        # front end is gone (SO_LINGER 0 makes the close a reset).
        if self.sim._down.is_set():
            try:
                request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
            return False
        return True

    def handle_error(self, request, client_address):
        # A client that went away (killed, timed out) is part of the tests.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError, OSError)):
            return
        super().handle_error(request, client_address)

    def close_connections(self):
        with self.conns_lock:
            conns = list(self.conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "gateway-sim/1"
    # Headers and body are two writes: with Nagle on, the body waits for the
    # client's delayed ACK (40 ms) and the simulator, not relais, would set
    # the pace of every benchmark.
    disable_nagle_algorithm = True

    def setup(self):
        super().setup()
        with self.server.conns_lock:
            self.server.conns.add(self.connection)

    def finish(self):
        with self.server.conns_lock:
            self.server.conns.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, fmt, *args):   # quiet: tests read sim.requests
        pass

    def _body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def send_json(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def drop(self):
        """Closes the connection without answering."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def do_GET(self):
        self._body()
        if self.path == "/_sim/stats":
            with self.server.sim.lock:
                stats = {"messages": len(self.server.sim.messages),
                         "requests": len(self.server.sim.requests)}
            self.send_json(200, stats)
        elif self.path == OVH_TIME_PATH:
            sim = self.server.sim
            with sim.lock:
                sim.ovh_time_requests += 1
            self.send_json(200, int(time.time() + sim.ovh_skew))
        else:
            self.send_json(404, {"code": 20404, "message": "The requested resource was not found",
                                 "status": 404})

    def do_POST(self):
        body = self._body()
        self.server.sim._handle_send(self, body)


class GatewaySim:
    def __init__(self, auth_token="secret", account_sid=None, brevo_key="brevo-key",
                 port=0, host="127.0.0.1"):
        self.auth_token = auth_token
        self.account_sid = account_sid or "AC" + secrets.token_hex(16)
        self.brevo_key = brevo_key
        self.ovh_app_key = "ovh-ak-" + secrets.token_hex(4)
        self.ovh_app_secret = "ovh-as-" + secrets.token_hex(8)
        self.ovh_consumer_key = "ovh-ck-" + secrets.token_hex(8)
        self.ovh_service = "sms-ab12345-1"
        self.ovh_skew = 0                 # seconds the OVH clock is ahead of ours
        self.ovh_time_requests = 0
        self._ovh_id = 27814656
        self.acme_token = "acme-" + secrets.token_hex(4)
        self._acme_id = 0
        self.host = host
        self.port = port
        self.number = "+15005550006"      # the account's own number (inbound To)
        self.invalid_numbers = set()
        self.slow_seconds = 2.0
        self.delay = 0.0                  # added to every send answer
        self.messages = []                # unique deliveries
        self.requests = []                # every request to a send endpoint
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self._faults = []
        self._idem = {}                   # (provider, key) -> (status, answer, message)
        self._brevo_id = 1511882900176000
        self._stopping = threading.Event()
        self._down = threading.Event()
        self._gate = threading.Event()     # cleared by hold()
        self._gate.set()
        self._server = None
        self._thread = None

    # --- life cycle ----------------------------------------------------------
    @property
    def url(self):
        return "http://%s:%d" % (self.host, self.port)

    def start(self):
        self._stopping.clear()
        self._server = _Server((self.host, self.port), self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def down(self):
        """Every new connection is reset unanswered; open ones are dropped.
        The port stays this simulator's."""
        self._down.set()
        if self._server is not None:
            self._server.close_connections()

    def up(self):
        """Serves again, on the same socket."""
        self._down.clear()
        return self

    def stop(self):
        self._stopping.set()              # ends held "timeout" connections
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server.close_connections()
        self._thread.join(5)
        self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- control -------------------------------------------------------------
    def fail_next(self, n, mode):
        if mode not in MODES:
            raise ValueError("unknown mode %r" % mode)
        with self.lock:
            self._faults.extend([mode] * n)

    def hold(self):
        """Send requests wait (unrecorded) until release(): lets a test queue
        a burst in relais before the gateway takes any of it."""
        self._gate.clear()

    def release(self):
        self._gate.set()

    def clear(self):
        with self.lock:
            self.messages.clear()
            self.requests.clear()
            self._faults.clear()
            self._idem.clear()

    def wait_for(self, n, timeout=10.0):
        """True once at least N unique messages arrived, False on time-out."""
        deadline = time.time() + timeout
        with self.cond:
            while len(self.messages) < n:
                left = deadline - time.time()
                if left <= 0:
                    return False
                self.cond.wait(left)
            return True

    def message(self, sid):
        with self.lock:
            for m in self.messages:
                if m["sid"] == sid:
                    return m
        return None

    # --- callbacks towards relais -------------------------------------------
    def _post_signed(self, url, params, bad_signature, unsigned, signed_url=None):
        """POSTs PARAMS to URL signed for SIGNED_URL (default URL): behind a
        proxy, Twilio signs the public address it called, not relais' own."""
        token = self.auth_token + ("x" if bad_signature else "")
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "User-Agent": "TwilioProxy/1.1"}
        if not unsigned:
            headers["X-Twilio-Signature"] = twilio_signature(token, signed_url or url, params)
        u = urllib.parse.urlsplit(url)
        conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=10)
        try:
            path = u.path + ("?" + u.query if u.query else "")
            conn.request("POST", path, body=urllib.parse.urlencode(params), headers=headers)
            res = conn.getresponse()
            self.last_response = res.read()
            return res.status
        finally:
            conn.close()

    def deliver(self, sid, status, relais_url, error_code=None, bad_signature=False,
                unsigned=False, public_url=None):
        """POSTs Twilio's StatusCallback for SID to RELAIS_URL, signed as
        Twilio signs the address it called (PUBLIC_URL when given); returns
        the HTTP status."""
        m = self.message(sid) or {}
        params = {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status,
                  "SmsStatus": status, "AccountSid": self.account_sid,
                  "To": m.get("to", "+33600000000"), "From": m.get("from", self.number),
                  "ApiVersion": "2010-04-01"}
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        path = "/hooks/sms/twilio/status"
        return self._post_signed(relais_url.rstrip("/") + path, params, bad_signature, unsigned,
                                 public_url and public_url.rstrip("/") + path)

    def inbound(self, from_, body, relais_url, bad_signature=False, unsigned=False, sid=None,
                public_url=None):
        """POSTs an incoming SMS as Twilio does; returns the HTTP status. The
        same SID again replays a message exactly as it was signed."""
        sid = sid or "SM" + secrets.token_hex(16)
        segments, _, _ = sms_segments(body)
        params = {"ToCountry": "US", "ToState": "", "SmsMessageSid": sid, "NumMedia": "0",
                  "ToCity": "", "FromZip": "", "SmsSid": sid, "FromState": "",
                  "SmsStatus": "received", "FromCity": "", "Body": body, "FromCountry": "FR",
                  "To": self.number, "ToZip": "", "NumSegments": str(segments),
                  "MessageSid": sid, "AccountSid": self.account_sid, "From": from_,
                  "ApiVersion": "2010-04-01"}
        path = "/hooks/sms/twilio/inbound"
        return self._post_signed(relais_url.rstrip("/") + path, params, bad_signature, unsigned,
                                 public_url and public_url.rstrip("/") + path)

    def ovh_report(self, msg_id, ptt, relais_url, token, method="GET"):
        """Calls relais' OVHcloud delivery-report webhook as OVHcloud does
        (ptt 4: delivered, 5: failed); returns the HTTP status."""
        params = {"id": str(msg_id), "ptt": str(ptt), "date": time.strftime("%Y-%m-%d %H:%M:%S"),
                  "description": "Delivered" if str(ptt) == "4" else "Failed"}
        u = urllib.parse.urlsplit(relais_url.rstrip("/") + "/hooks/sms/ovh/" + token)
        conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=10)
        try:
            if method == "GET":
                conn.request("GET", u.path + "?" + urllib.parse.urlencode(params))
            else:
                conn.request("POST", u.path, body=urllib.parse.urlencode(params),
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
            res = conn.getresponse()
            self.last_response = res.read()
            return res.status
        finally:
            conn.close()

    # --- the gateway -----------------------------------------------------------
    def _handle_send(self, h, raw):
        while not self._gate.wait(0.1):
            if self._stopping.is_set():
                h.drop()
                return
        path = urllib.parse.urlsplit(h.path).path
        tw = TWILIO_PATH.match(path)
        ovh = OVH_PATH.match(path)
        provider = "twilio" if tw else "brevo" if path == BREVO_PATH else "ovh" if ovh \
            else "acme" if path == ACME_PATH else None
        headers = {k.lower(): v for k, v in h.headers.items()}
        key = headers.get("idempotency-key")
        rec = {"provider": provider, "method": "POST", "path": h.path, "headers": headers,
               "idem_key": key, "at": time.time(), "body": raw.decode("utf-8", "replace"),
               "fault": None, "dedup": False, "status": None, "answer": None,
               "answered": False}
        with self.lock:
            self.requests.append(rec)
            fault = self._faults.pop(0) if provider and self._faults else None
        rec["fault"] = fault
        if provider is None:
            rec["status"] = 404
            h.send_json(404, {"code": 20404, "message": "The requested resource %s was not found"
                              % path, "status": 404})
            return
        if fault in ("500", "503", "429"):
            rec["status"] = int(fault)
            code = {"500": 20500, "503": 20503, "429": 20429}[fault]
            text = {"500": "Internal Server Error", "503": "Service Unavailable",
                    "429": "Too Many Requests"}[fault]
            if provider == "brevo":
                h.send_json(int(fault), {"code": "internal_error" if fault != "429"
                                         else "too_many_requests", "message": text})
            elif provider in ("ovh", "acme"):
                h.send_json(int(fault), {"message": text})
            else:
                h.send_json(int(fault), {"code": code, "message": text,
                                         "more_info": "https://www.twilio.com/docs/errors/%d"
                                         % code, "status": int(fault)})
            return
        if fault == "timeout":
            self._stopping.wait(HOLD_SECONDS)
            h.drop()
            return
        if fault == "close":
            h.drop()
            return
        if provider == "twilio":
            status, answer = self._twilio(h, tw.group(1), raw, key, rec, fault == "invalid")
        elif provider == "ovh":
            status, answer = self._ovh(h, ovh.group(1), raw, key, rec, fault == "invalid")
        elif provider == "acme":
            status, answer = self._acme(h, raw, key, rec, fault == "invalid")
        else:
            status, answer = self._brevo(h, raw, key, rec, fault == "invalid")
        rec["status"], rec["answer"] = status, answer
        wait = self.delay + (self.slow_seconds if fault == "slow" else 0.0)
        if wait > 0 and self._stopping.wait(wait):
            h.drop()
            return
        if fault == "lost":
            h.drop()
            return
        h.send_json(status, answer)
        rec["answered"] = True
        rec["done_at"] = time.time()

    def _remember(self, provider, key, rec, make):
        """Runs MAKE() -> (status, answer, message) once per idempotency key:
        the check and the delivery are atomic, so concurrent retries with the
        same key deliver once."""
        with self.cond:
            if key and (provider, key) in self._idem:
                rec["dedup"] = True
                status, answer, _ = self._idem[(provider, key)]
                return status, answer
            status, answer, msg = make()
            if msg is not None:
                self.messages.append(msg)
                if key:
                    self._idem[(provider, key)] = (status, answer, msg)
                self.cond.notify_all()
            return status, answer

    def _twilio(self, h, sid, raw, key, rec, force_invalid):
        auth = h.headers.get("Authorization", "")
        ok = False
        if auth.startswith("Basic "):
            try:
                user, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
                ok = hmac.compare_digest(user, self.account_sid) and \
                    hmac.compare_digest(pw, self.auth_token) and sid == self.account_sid
            except (ValueError, UnicodeDecodeError):
                ok = False
        if not ok:
            return 401, {"code": 20003, "detail": "Your AccountSid or AuthToken was incorrect.",
                         "message": "Authenticate",
                         "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}
        form = dict(urllib.parse.parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        rec["form"] = form
        to, body, frm = form.get("To", ""), form.get("Body"), form.get("From")

        def err(code, message):
            return 400, {"code": code, "message": message,
                         "more_info": "https://www.twilio.com/docs/errors/%d" % code,
                         "status": 400}
        if not to:
            return err(21604, "A 'To' phone number is required.")
        if not frm and not form.get("MessagingServiceSid"):
            return err(21603, "A 'From' phone number is required.")
        if not body:
            return err(21602, "Message body is required.")
        if len(body) > 1600:
            return err(21617, "The concatenated message body exceeds the 1600 character limit.")
        if force_invalid or not E164.match(to) or to in self.invalid_numbers:
            return err(21211, "The 'To' number %s is not a valid phone number." % to)

        def make():
            msid = "SM" + secrets.token_hex(16)
            now = time.time()
            segments, _, _ = sms_segments(body)
            answer = {
                "account_sid": self.account_sid, "api_version": "2010-04-01", "body": body,
                "date_created": _rfc2822(now), "date_sent": None, "date_updated": _rfc2822(now),
                "direction": "outbound-api", "error_code": None, "error_message": None,
                "from": frm, "messaging_service_sid": form.get("MessagingServiceSid"),
                "num_media": "0", "num_segments": str(segments), "price": None,
                "price_unit": "USD", "sid": msid, "status": "queued",
                "subresource_uris": {"media": "/2010-04-01/Accounts/%s/Messages/%s/Media.json"
                                     % (self.account_sid, msid)},
                "to": to, "uri": "/2010-04-01/Accounts/%s/Messages/%s.json"
                % (self.account_sid, msid)}
            msg = {"provider": "twilio", "to": to, "body": body, "from": frm, "sender": frm,
                   "idem_key": key, "sid": msid, "status": "queued", "segments": segments,
                   "status_callback": form.get("StatusCallback"), "at": now}
            return 201, answer, msg
        return self._remember("twilio", key, rec, make)

    def _brevo(self, h, raw, key, rec, force_invalid):
        if not hmac.compare_digest(h.headers.get("api-key", ""), self.brevo_key):
            return 401, {"code": "unauthorized", "message": "Key not found"}
        try:
            req = json.loads(raw.decode("utf-8"))
            if not isinstance(req, dict):
                raise ValueError("not an object")
        except (ValueError, UnicodeDecodeError):
            return 400, {"code": "bad_request", "message": "Invalid JSON body"}
        rec["json"] = req
        sender, recipient, content = req.get("sender"), req.get("recipient"), req.get("content")
        if not isinstance(sender, str) or not sender:
            return 400, {"code": "missing_parameter", "message": "sender is missing"}
        if not isinstance(content, str) or not content:
            return 400, {"code": "missing_parameter", "message": "content is missing"}
        if not isinstance(recipient, str) or not recipient:
            return 400, {"code": "missing_parameter", "message": "recipient is missing"}
        e164 = recipient if recipient.startswith("+") else "+" + recipient
        if force_invalid or not E164.match(e164) or e164 in self.invalid_numbers \
                or recipient in self.invalid_numbers:
            return 400, {"code": "invalid_parameter", "message": "Invalid phone number"}

        def make():
            self._brevo_id += 1
            mid = self._brevo_id
            segments, _, _ = sms_segments(content)
            msg = {"provider": "brevo", "to": e164, "body": content, "from": sender,
                   "sender": sender, "idem_key": key, "sid": str(mid), "status": "sent",
                   "segments": segments, "status_callback": req.get("webUrl"),
                   "type": req.get("type"), "at": time.time()}
            return 201, {"messageId": mid}, msg
        return self._remember("brevo", key, rec, make)


    def _ovh(self, h, service, raw, key, rec, force_invalid):
        headers = {k.lower(): v for k, v in h.headers.items()}
        body = raw.decode("utf-8", "replace")

        def err(status, code, message):
            return status, {"errorCode": code, "httpCode": "%d" % status, "message": message}
        if not hmac.compare_digest(headers.get("x-ovh-application", ""), self.ovh_app_key) or \
                not hmac.compare_digest(headers.get("x-ovh-consumer", ""), self.ovh_consumer_key):
            return err(403, "INVALID_CREDENTIAL", "This credential does not exist")
        ts = headers.get("x-ovh-timestamp", "")
        if not ts.isdigit() or abs(int(ts) - (time.time() + self.ovh_skew)) > 30:
            return err(400, "QUERY_TIME_OUT", "Query out of time")
        url = "http://%s%s" % (headers.get("host", ""), h.path)
        want = ovh_signature(self.ovh_app_secret, self.ovh_consumer_key, "POST", url, body, ts)
        if not hmac.compare_digest(headers.get("x-ovh-signature", ""), want):
            return err(400, "INVALID_SIGNATURE", "Invalid signature")
        if service != self.ovh_service:
            return 404, {"message": "This service does not exist"}
        try:
            req = json.loads(body)
            if not isinstance(req, dict):
                raise ValueError("not an object")
        except ValueError:
            return 400, {"message": "Invalid JSON"}
        rec["json"] = req
        message, receivers = req.get("message"), req.get("receivers")
        if not isinstance(message, str) or not message:
            return 400, {"message": "[message] is missing"}
        if not isinstance(receivers, list) or not receivers or \
                not all(isinstance(x, str) for x in receivers):
            return 400, {"message": "[receivers] is missing"}
        bad = [x for x in receivers if force_invalid or not E164.match(x) or
               x in self.invalid_numbers]
        good = [x for x in receivers if x not in bad]
        if not good:
            return 200, {"totalCreditsRemoved": 0, "invalidReceivers": bad, "ids": [],
                         "validReceivers": []}

        def make():
            segments, _, _ = sms_segments(message)
            ids = []
            for to in good:
                self._ovh_id += 1
                ids.append(self._ovh_id)
            msg = {"provider": "ovh", "to": good[0], "body": message, "from": req.get("sender"),
                   "sender": req.get("sender"), "idem_key": key, "sid": str(ids[0]),
                   "status": "sent", "segments": segments, "status_callback": None,
                   "at": time.time()}
            return 200, {"totalCreditsRemoved": segments * len(good), "invalidReceivers": bad,
                         "ids": ids, "validReceivers": good}, msg
        return self._remember("ovh", key, rec, make)

    def _acme(self, h, raw, key, rec, force_invalid):
        if not hmac.compare_digest(h.headers.get("Authorization", ""),
                                   "Bearer " + self.acme_token):
            return 401, {"message": "bad token"}
        try:
            req = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return 400, {"message": "Invalid JSON"}
        rec["json"] = req
        to = req.get("to") if isinstance(req, dict) else None
        if not isinstance(to, str):
            return 400, {"message": "to is missing"}
        if force_invalid or to in self.invalid_numbers:
            return 400, {"message": "The number %s is not valid" % to}

        def make():
            self._acme_id += 1
            sid = "ACME-%d" % self._acme_id
            text = req.get("text") or ""
            msg = {"provider": "acme", "to": to, "body": text, "from": None, "sender": None,
                   "idem_key": key, "sid": sid, "status": "sent",
                   "segments": sms_segments(text)[0], "status_callback": None,
                   "at": time.time(), "json": req}
            return 201, {"id": sid}, msg
        return self._remember("acme", key, rec, make)


def _selftest():
    """Twilio's documented example must hold."""
    params = {"CallSid": "CA1234567890ABCDE", "Caller": "+12349013030", "Digits": "1234",
              "From": "+12349013030", "To": "+18005551212"}
    got = twilio_signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", params)
    assert got == "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", got
    assert sms_segments("a" * 160) == (1, False, 160)
    assert sms_segments("a" * 161) == (2, False, 161)
    assert sms_segments("€" * 80) == (1, False, 160)
    assert sms_segments("a" * 152 + "€" * 77) == (3, False, 306)   # escape pair never split
    assert sms_segments("ç" * 70) == (1, True, 70)
    assert sms_segments("ç" * 71) == (2, True, 71)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Twilio/Brevo-shaped SMS gateway simulator")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--auth-token", default="secret")
    ap.add_argument("--account-sid", default=None)
    ap.add_argument("--brevo-key", default="brevo-key")
    ap.add_argument("--delay", type=float, default=0.0, help="seconds added to every answer")
    ap.add_argument("--ovh-config", metavar="FILE",
                    help="write the relais config lines for its OVHcloud API into FILE")
    ap.add_argument("--selftest", action="store_true")
    args = ap.parse_args(argv)
    if args.selftest:
        _selftest()
        print("ok")
        return 0
    sim = GatewaySim(auth_token=args.auth_token, account_sid=args.account_sid,
                     brevo_key=args.brevo_key, port=args.port, host=args.host)
    sim.delay = args.delay
    sim.start()
    if args.ovh_config:
        with open(args.ovh_config, "w") as f:
            f.write('sms = {provider = "ovh"}\n'
                    'sms_ovh = {url = "%s", application_key = "%s", application_secret = "%s",\n'
                    '           consumer_key = "%s", service_name = "%s", sender = "RELAIS"}\n'
                    % (sim.url, sim.ovh_app_key, sim.ovh_app_secret, sim.ovh_consumer_key,
                       sim.ovh_service))
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    print("gateway-sim listening on %s account_sid=%s" % (sim.url, sim.account_sid), flush=True)
    while not done.wait(0.5):
        pass
    sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
