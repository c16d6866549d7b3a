# NATSBridge for MicroPython: envelope v1 over NATS, claim-check links over plain HTTP/1.1.
# One file to copy to the board; see README.md beside it. MIT licence.
import socket, time, gc


def _imp(m):
    try:
        return __import__(m)
    except ImportError:
        return __import__("u" + m)


json, binascii, os = _imp("json"), _imp("binascii"), _imp("os")
try:
    from hashlib import sha256 as _sha
except ImportError:
    _sha = None
try:
    _rand = os.urandom
except AttributeError:
    import random
    _rand = lambda n: bytes(random.getrandbits(8) for _ in range(n))
_ms = getattr(time, "ticks_ms", None) or (lambda: int(time.time() * 1000))
_dt = getattr(time, "ticks_diff", None) or (lambda a, b: a - b)
_sl = getattr(time, "sleep_ms", None) or (lambda n: time.sleep(n / 1000))

__version__ = "0.1.0"
_HF = ("correlation_id", "msg_id", "timestamp", "send_to", "msg_purpose", "sender_name",
       "sender_id", "receiver_name", "receiver_id", "reply_to", "reply_to_msg_id", "broker_url")
_RAW = ("image", "audio", "video", "binary")
_TYPES = ("text", "dictionary") + _RAW
_TABLES = ("table", "arrowtable", "jsontable")
_MAXP = 1048576


class NATSBridgeError(Exception):
    # .kind is one of the wire doc's error kinds (InvalidEnvelope, Timeout, ...).
    def __init__(self, kind, msg=""):
        super().__init__(kind + ": " + msg)
        self.kind, self.message = kind, msg


class NotSupportedError(NATSBridgeError):
    def __init__(self, msg="table payloads need Arrow, which MicroPython lacks; send a dictionary "
                           "(a list of row objects) instead"):
        super().__init__("NotSupported", msg)


_E = NATSBridgeError


def _oserr(e, what):
    a = e.args[0] if e.args else 0
    to = a in (11, 110, 116, "timed out") or "imeout" in type(e).__name__
    return _E("Timeout" if to else "Connection", "%s: %r" % (what, e))


def _hex(b):
    return binascii.hexlify(b).decode()


def uuid4():
    b = bytearray(_rand(16))
    b[6] = b[6] & 15 | 64
    b[8] = b[8] & 63 | 128
    h = _hex(b)
    return "-".join((h[:8], h[8:12], h[12:16], h[16:20], h[20:]))


def timestamp():
    # ISO-8601 UTC with milliseconds; ".000" on ports without a sub-second clock.
    try:
        t = time.time_ns() // 1000000
    except AttributeError:
        t = int(time.time() * 1000)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (tuple(time.gmtime(t // 1000)[:6]) + (t % 1000,))


def _blen(s):
    # UTF-8 length of a str without copying it (MicroPython's memoryview takes a str).
    try:
        return len(memoryview(s))
    except TypeError:
        return len(s.encode())


def _url(u, port):
    i = u.find("://") if isinstance(u, str) else -1
    if i < 1:
        raise _E("InvalidArgument", "bad URL %r" % (u,))
    r = u[i + 3:]
    j = r.find("/")
    hp, path = (r, "/") if j < 0 else (r[:j], r[j:])
    a = hp.rsplit("@", 1)
    hp = a[-1]
    k = hp.rfind(":")
    if k > hp.rfind("]"):
        hp, port = hp[:k], hp[k + 1:]
    try:
        port = int(port)
    except ValueError:
        raise _E("InvalidArgument", "bad port in %r" % u)
    return u[:i].lower(), a[0] if len(a) > 1 else "", hp.strip("[]"), port, path


def _sock(host, port, t):
    s = None
    try:
        ai = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)[0]
        s = socket.socket(ai[0], socket.SOCK_STREAM)
        s.settimeout(t)
        s.connect(ai[-1])
        return s
    except OSError as e:
        if s:
            s.close()
        raise _oserr(e, "cannot connect to %s:%s" % (host, port))


class _Conn:
    # Buffered socket: lines, exact reads straight into buffers, full writes.
    def __init__(self, s):
        self._s, self._b = s, b""

    def _fill(self):
        try:
            d = self._s.recv(4096)
        except OSError as e:
            raise _oserr(e, "read failed")
        if not d:
            raise _E("Connection", "connection closed by peer")
        self._b = self._b + d if self._b else d

    def _line(self, lim=65536):
        while True:
            i = self._b.find(b"\r\n")
            if i >= 0:
                ln, self._b = self._b[:i], self._b[i + 2:]
                return ln
            if len(self._b) > lim:
                raise _E("Connection", "protocol line too long")
            self._fill()

    def _into(self, mv):
        # Fills memoryview mv; returns the count (short only at end of stream).
        n = min(len(mv), len(self._b))
        if n:
            mv[:n] = self._b[:n]
            self._b = self._b[n:]
        ri = getattr(self._s, "readinto", None) or self._s.recv_into
        while n < len(mv):
            try:
                k = ri(mv[n:])
            except OSError as e:
                raise _oserr(e, "read failed")
            if not k:
                break
            n += k
        return n

    def _read(self, n):
        b = bytearray(n)
        if self._into(memoryview(b)) < n:
            raise _E("Connection", "connection closed mid-message")
        return b

    def _w(self, b):
        try:
            mv = memoryview(b)
        except TypeError:
            mv = memoryview(b.encode())
        i = 0
        try:
            while i < len(mv):
                i += self._s.send(mv[i:i + 16384])
        except OSError as e:
            raise _oserr(e, "write failed")

    def close(self):
        if self._s:
            try:
                self._s.close()
            except OSError:
                pass
            self._s = None


class Msg:
    def __init__(self, nc, subject, sid, reply, data, status=None):
        self.nc, self.subject, self.sid, self.reply, self.data, self.status = nc, subject, sid, reply, data, status

    def respond(self, data):
        self.nc.publish(self.reply, data)


def _subj(s, what="subject"):
    if not isinstance(s, str) or not s or [c for c in " \t\r\n" if c in s]:
        raise _E("InvalidArgument", "%s must be a non-empty str without whitespace, got %r" % (what, s))


class NATS(_Conn):
    # Minimal synchronous core-NATS client (no TLS). Credentials: args or nats://user:pass@ / nats://token@.
    def __init__(self, url="nats://localhost:4222", name="natsbridge-mpy", token=None, user=None,
                 password=None, timeout=10):
        _Conn.__init__(self, None)
        sch, cr, self.host, self.port, _ = _url(url, 4222)
        if sch not in ("nats", "tcp"):
            raise _E("InvalidArgument", "only nats:// URLs (no TLS), got %r" % url)
        if cr and not (token or user):
            if ":" in cr:
                user, password = cr.split(":", 1)
            else:
                token = cr
        self.url, self.name, self.timeout = url, name, timeout
        self.token, self.user, self.password = token, user, password
        self.info, self.max_payload = {}, _MAXP
        self._sid, self._subs, self._pend = 0, {}, []

    def connect(self):
        self._s, self._b = _sock(self.host, self.port, self.timeout), b""
        try:
            ln = self._line()
            if ln[:4] != b"INFO":
                raise _E("Connection", "not a NATS server")
            self._info(ln)
            o = {"verbose": False, "pedantic": False, "lang": "micropython", "version": __version__,
                 "protocol": 1, "headers": True, "no_responders": True, "name": self.name}
            if self.token:
                o["auth_token"] = self.token
            if self.user:
                o["user"], o["pass"] = self.user, self.password or ""
            self._w("CONNECT %s\r\n" % json.dumps(o))
            self.flush()
        except BaseException:
            self.close()
            raise
        return self

    def _info(self, ln):
        try:
            self.info = json.loads(ln[5:])
            self.max_payload = int(self.info.get("max_payload", _MAXP))
        except (ValueError, TypeError):
            raise _E("Connection", "bad INFO")

    def _live(self):
        if not self._s:
            raise _E("Connection", "not connected")

    def publish(self, subject, data, reply=None):
        self._live()
        _subj(subject)
        if reply:
            _subj(reply, "reply")
        n = _blen(data) if isinstance(data, str) else len(data)
        if n > self.max_payload:
            raise _E("EnvelopeTooLarge", "%d bytes > server max_payload %d" % (n, self.max_payload))
        self._w("PUB %s %s%d\r\n" % (subject, reply + " " if reply else "", n))
        self._w(data)
        self._w(b"\r\n")

    def subscribe(self, subject, cb=None, queue=None, max_msgs=0):
        # cb(msg) runs from wait_msg/check_msg/loop; returns the sid.
        self._live()
        _subj(subject)
        self._sid += 1
        sid = self._sid
        self._subs[sid] = [cb, max_msgs]
        self._w("SUB %s %s%d\r\n" % (subject, queue + " " if queue else "", sid))
        if max_msgs:
            self._w("UNSUB %d %d\r\n" % (sid, max_msgs))
        return sid

    def unsubscribe(self, sid):
        if self._subs.pop(sid, None) and self._s:
            self._w("UNSUB %d\r\n" % sid)

    def new_inbox(self):
        return "_INBOX." + _hex(_rand(11))

    def _op(self, t, pong=False):
        # Handles protocol lines for up to t seconds (None: forever, 0: poll).
        # Returns a Msg, True for PONG (when pong), None on timeout.
        self._live()
        dl = None if t is None else _ms() + int(t * 1000)
        while True:
            if self._b.find(b"\r\n") < 0:
                self._s.settimeout(None if dl is None else max(0, _dt(dl, _ms())) / 1000)
                try:
                    self._fill()
                except NATSBridgeError as e:
                    if e.kind == "Timeout":
                        return None
                    raise
                finally:
                    if self._s:
                        self._s.settimeout(self.timeout)
                continue
            ln = self._line()
            if ln[:4] in (b"MSG ", b"HMSG"):
                return self._msg(ln)
            if ln == b"PING":
                self._w(b"PONG\r\n")
            elif ln == b"PONG" and pong:
                return True
            elif ln[:4] == b"INFO":
                self._info(ln)
            elif ln[:4] == b"-ERR":
                t = ln[4:].decode().strip()
                if "Payload" in t:
                    raise _E("EnvelopeTooLarge", "server: " + t)
                if "uthori" in t or "uthenti" in t:
                    self.close()
                raise _E("Connection", "server: " + t)

    def _msg(self, ln):
        a = ln.decode().split()
        h = a[0] == "HMSG"
        if not 3 + h < len(a) < 6 + h:
            raise _E("Connection", "bad MSG line")
        st, n = None, int(a[-1])
        if h:
            hd = self._read(int(a[-2]))
            n -= len(hd)
            f = bytes(hd[:hd.find(b"\r\n")]).split()
            st = f[1].decode() if len(f) > 1 else None
        d = self._read(n)
        while len(self._b) < 2:
            self._fill()
        self._b = self._b[2:]
        return Msg(self, a[1], int(a[2]), a[3] if len(a) == 5 + h else None, d, st)

    def flush(self, timeout=None):
        self._live()
        self._w(b"PING\r\n")
        while True:
            r = self._op(self.timeout if timeout is None else timeout, True)
            if r is True:
                return
            if r is None:
                raise _E("Timeout", "no PONG from server")
            self._pend.append(r)

    def _run(self, m):
        s = self._subs.get(m.sid)
        if s:
            if s[1]:
                s[1] -= 1
                if not s[1]:
                    del self._subs[m.sid]
            if s[0]:
                s[0](m)
        return m

    def wait_msg(self, timeout=None):
        # Next message of any subscription (its callback is called); None on timeout.
        self._live()
        if self._pend:
            return self._run(self._pend.pop(0))
        m = self._op(timeout)
        return m and self._run(m)

    def check_msg(self):
        return self.wait_msg(0)

    def loop(self, timeout=None, count=0):
        # Dispatches to callbacks until count messages or timeout seconds; returns the count.
        dl, n = None if timeout is None else _ms() + int(timeout * 1000), 0
        while not count or n < count:
            r = None if dl is None else max(0, _dt(dl, _ms())) / 1000
            if self.wait_msg(r):
                n += 1
            elif r == 0:
                break
        return n

    def next_msg(self, sid, timeout=10):
        # Next message for sid; others wait in the queue for wait_msg. Raises Timeout.
        for i, m in enumerate(self._pend):
            if m.sid == sid:
                return self._pend.pop(i)
        dl = _ms() + int(timeout * 1000)
        while True:
            m = self._op(max(0, _dt(dl, _ms())) / 1000)
            if m is None:
                raise _E("Timeout", "no message within %ss" % timeout)
            if m.sid == sid:
                return m
            self._pend.append(m)

    def request(self, subject, data, timeout=10, inbox=None):
        inbox = inbox or self.new_inbox()
        sid = self.subscribe(inbox, max_msgs=1)
        try:
            self.publish(subject, data, inbox)
            m = self.next_msg(sid, timeout)
        finally:
            self._subs.pop(sid, None)
        if m.status == "503":
            raise _E("NoResponders", "no responders on %r" % subject)
        return m


def connect(url="nats://localhost:4222", **kw):
    return NATS(url, **kw).connect()


# ---- plain HTTP/1.1 and the Plik-subset claim-check store ----

def _http(method, url, hdrs={}, body=(), size=None):
    # Returns (status, body or None). With size, the body is read into one buffer of that size.
    sch, _, host, port, path = _url(url, 80)
    if sch != "http":
        raise _E("OriginNotAllowed", "only http:// on MicroPython, got %r" % url[:80])
    c = _Conn(_sock(host, port, 10))
    try:
        h = "%s %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n" % (method, path, host, port)
        for k in hdrs:
            h += "%s: %s\r\n" % (k, hdrs[k])
        if method == "POST":
            h += "Content-Length: %d\r\n" % sum(len(p) for p in body)
        c._w(h + "\r\n")
        for p in body:
            c._w(p)
        try:
            st = int(c._line(8192).split()[1])
        except (IndexError, ValueError):
            raise _E("Connection", "bad HTTP status line")
        hd = {}
        while True:
            ln = c._line(8192).decode()
            if not ln:
                break
            k = ln.find(":")
            hd[ln[:k].strip().lower()] = ln[k + 1:].strip()
        if st != 200:
            return st, None
        cl = hd.get("content-length")
        ch = "chunked" in hd.get("transfer-encoding", "").lower()
        if cl and not ch:
            cl = int(cl)
            if size is not None and cl != size:
                raise _E("SizeMismatch", "server sends %d bytes, size says %d" % (cl, size))
            size = cl
        out = bytearray(size or 0)
        mv, n = memoryview(out), 0
        while True:
            if ch:
                k = int(c._line(1024).split(b";")[0], 16)
                if not k:
                    break
            else:
                k = 4096 if size is None else size - n
            if size is None:
                t = bytearray(k)
                r = c._into(memoryview(t))
                out.extend(t[:r])
            elif n + k > size:
                raise _E("SizeMismatch", "server sends more than the %d bytes of size" % size)
            else:
                r = c._into(mv[n:n + k])
            n += r
            if ch:
                if r < k:
                    raise _E("Connection", "closed mid-chunk")
                c._line(16)
            elif r < k or size is not None:
                break
        if size is not None and n != size:
            raise _E("SizeMismatch", "received %d bytes, size says %d" % (n, size))
        return st, out
    finally:
        c.close()


def _fname(n):
    s = "".join(c if c.isalpha() and c < "\x80" or c.isdigit() or c in "-_." else "_" for c in n)
    return s.lstrip(".") or "file"


def plik_oneshot_upload(fileserver_url, dataname, data):
    # Plik one-shot upload; returns {"status", "uploadid", "fileid", "url"}.
    base = fileserver_url.rstrip("/")
    try:
        st, b = _http("POST", base + "/upload", {"Content-Type": "application/json"}, (b'{"OneShot": true}',))
        if st == 200:
            j = json.loads(b)
            uid, bd = j["id"], "natsbridge" + _hex(_rand(8))
            fn = _fname(dataname)
            pre = ('--%s\r\nContent-Disposition: form-data; name="file"; filename="%s"\r\n'
                   'Content-Type: application/octet-stream\r\n\r\n' % (bd, fn))
            st, b = _http("POST", "%s/file/%s" % (base, uid), {"X-UploadToken": j["uploadToken"],
                          "Content-Type": "multipart/form-data; boundary=" + bd},
                          (pre.encode(), data, ("\r\n--%s--\r\n" % bd).encode()))
        if st != 200:
            raise _E("UploadFailed", "%s answered HTTP %d" % (base, st))
        j = json.loads(b)
        fid = j["id"]
        fn = _fname(j.get("fileName") or fn)
    except (ValueError, KeyError, TypeError) as e:
        raise _E("UploadFailed", "bad answer from %s: %r" % (base, e))
    except NATSBridgeError as e:
        raise e if e.kind == "UploadFailed" else _E("UploadFailed", "%s: %s" % (base, e))
    return {"status": st, "uploadid": uid, "fileid": fid, "url": "%s/file/%s/%s/%s" % (base, uid, fid, fn)}


def _sync_fileserver_download(url, max_retries=3, base_delay=100, max_delay=1000, size=None):
    # GET with exponential backoff + jitter: retries connection errors, timeouts, 5xx and 429.
    if not isinstance(url, str) or url[:7].lower() != "http://":
        raise _E("OriginNotAllowed", "only http:// links on MicroPython, got %r" % (url,))
    last = ""
    for i in range(max(1, max_retries)):
        if i:
            d = min(max_delay, base_delay << (i - 1))
            _sl(d // 2 + _rand(1)[0] * (d - d // 2) // 255)
        try:
            st, b = _http("GET", url, size=size)
        except NATSBridgeError as e:
            if e.kind not in ("Connection", "Timeout"):
                raise
            last = e.message
            continue
        if st == 200:
            return b
        if st == 404:
            raise _E("PayloadNotFound", url + " answered 404")
        last = "HTTP %d" % st
        if st != 429 and st < 500:
            break
    raise _E("DownloadFailed", "GET %s: %s" % (url, last))


# ---- envelope v1 ----

def _chk(v):
    if isinstance(v, dict):
        for k in v:
            if not isinstance(k, str):
                raise _E("InvalidArgument", "JSON keys must be str: %r" % (k,))
            _chk(v[k])
    elif isinstance(v, (list, tuple)):
        for x in v:
            _chk(x)
    elif not (v is None or isinstance(v, (str, int, float, bool))) or isinstance(v, float) and v - v != 0:
        raise _E("InvalidArgument", "not JSON-serializable: %r" % (v,))


def _ser(v, t):
    if t == "text" and isinstance(v, str):
        return v.encode()
    if t == "dictionary" and isinstance(v, (dict, list)):
        _chk(v)
        return json.dumps(v).encode()
    if t in _RAW and isinstance(v, (bytes, bytearray, memoryview)):
        return v if not isinstance(v, memoryview) else bytes(v)
    if t in _TABLES:
        raise NotSupportedError()
    if t not in _TYPES:
        raise _E("UnknownPayloadType", "%r; expected one of %s" % (t, ", ".join(_TYPES)))
    raise _E("InvalidArgument", "a %s payload needs %s, got %s" % (
        t, {"text": "a str", "dictionary": "a dict or list"}.get(t, "bytes"), type(v).__name__))


def _b64e(b):
    try:
        return binascii.b2a_base64(b, newline=False).decode()
    except TypeError:
        return binascii.b2a_base64(b)[:-1].decode()


def _b64(s):
    # Strict: MicroPython's decoder skips bad characters, so demand the exact length and tail.
    # s: a str, or a memoryview into the message (see _cut).
    n = len(s)
    try:
        t = s[-4:] if isinstance(s, str) else str(s[-4:], "utf-8")
        b = binascii.a2b_base64(s)
        ok = not n % 4 and len(b) == n // 4 * 3 - t[2:].count("=") and _b64e(binascii.a2b_base64(t)) == t
    except (ValueError, UnicodeError):
        ok = 0
    if not ok:
        raise _E("BadEncoding", "data is not standard base64")
    return b


_js = json.dumps


def smartsend(subject, data, broker_url="nats://localhost:4222", fileserver_url="http://localhost:8080",
              fileserver_upload_handler=plik_oneshot_upload, size_threshold=100000, correlation_id=None,
              msg_purpose="chat", sender_name="NATSBridge", receiver_name="", receiver_id="", reply_to="",
              reply_to_msg_id="", is_publish=True, nats_connection=None, msg_id=None, sender_id=None,
              metadata=None):
    # data: [(dataname, value, type), ...]. Returns (env, env_json_str).
    _subj(subject)
    if not isinstance(data, (list, tuple)) or not isinstance(size_threshold, int) or size_threshold < 0:
        raise _E("InvalidArgument", "need data=[(dataname, value, type), ...] and size_threshold >= 0")
    its = []
    for it in data:
        if not isinstance(it, (list, tuple)) or len(it) != 3 or not isinstance(it[0], str) or not it[0]:
            raise _E("InvalidArgument", "each payload must be (dataname: non-empty str, value, type), got %r" % (it,))
        b = _ser(it[1], it[2])
        its.append([it[0], it[2], b, len(b) >= size_threshold, None, uuid4()])  # name type bytes link? url id
    md = {} if metadata is None else metadata
    if not isinstance(md, dict):
        raise _E("InvalidArgument", "metadata must be a dict")
    _chk(md)
    env = {"correlation_id": correlation_id or uuid4(), "msg_id": msg_id or uuid4(), "timestamp": timestamp(),
           "send_to": subject, "msg_purpose": msg_purpose, "sender_name": sender_name,
           "sender_id": sender_id or uuid4(), "receiver_name": receiver_name, "receiver_id": receiver_id,
           "reply_to": reply_to, "reply_to_msg_id": reply_to_msg_id, "broker_url": broker_url}
    for k in _HF:
        if not isinstance(env[k], str):
            raise _E("InvalidArgument", k + " must be a str")
    env["metadata"] = md
    hb = "{" + ",".join('"%s":%s' % (k, _js(env[k])) for k in _HF) + ',"metadata":%s,"payloads":[' % _js(md)
    nc, own = nats_connection, is_publish and not nats_connection
    if own:
        nc = connect(broker_url)
    try:
        maxp = nc.max_payload if nc else _MAXP

        def pre(it, link):
            return '{"id":"%s","dataname":%s,"payload_type":"%s","transport":"%s","encoding":"%s","size":%d,"data":' % (
                it[5], _js(it[0]), it[1], "link" if link else "direct", "none" if link else "base64", len(it[2]))

        def esize(it, link):
            if not link:
                return _blen(pre(it, 0)) + (len(it[2]) + 2) // 3 * 4 + 3
            return _blen(pre(it, 1)) + (_blen(_js(it[4])) if it[4] else len(fileserver_url) + 120) + 80

        fixed = _blen(hb) + 1 + max(1, len(its))
        lo = fixed + sum(min(esize(it, 0), esize(it, 1)) for it in its)
        if lo > maxp:
            raise _E("EnvelopeTooLarge", "envelope needs >= %d bytes, server max_payload is %d" % (lo, maxp))
        while True:
            for it in its:
                if it[3] and not it[4]:
                    if not fileserver_upload_handler:
                        raise _E("UploadFailed", "%r needs a link but there is no upload handler" % it[0])
                    try:
                        r = fileserver_upload_handler(fileserver_url, it[0], it[2])
                        it[4] = r["url"]
                        if not isinstance(it[4], str) or r.get("status", 200) != 200:
                            raise ValueError(r)
                    except NATSBridgeError as e:
                        raise e if e.kind == "UploadFailed" else _E("UploadFailed", e.message)
                    except Exception as e:
                        raise _E("UploadFailed", "upload of %r failed: %r" % (it[0], e))
                    gc.collect()
            tot = fixed + sum(esize(it, it[3]) for it in its)
            if tot <= maxp:
                break
            c = [it for it in its if not it[3]]
            if not c or not fileserver_upload_handler:
                raise _E("EnvelopeTooLarge", "envelope of %d bytes > server max_payload %d" % (tot, maxp))
            max(c, key=lambda it: len(it[2]))[3] = True
        parts, env["payloads"] = [hb], []
        for i, it in enumerate(its):
            p = {"id": it[5], "dataname": it[0], "payload_type": it[1], "transport": "link" if it[3] else "direct",
                 "encoding": "none" if it[3] else "base64", "size": len(it[2])}
            parts.append("," * (i > 0) + pre(it, it[3]))
            if it[3]:
                p["data"] = it[4]
                parts.append(_js(it[4]))
                if _sha:
                    p["sha256"] = _hex(_sha(it[2]).digest())
                    parts.append(',"sha256":"%s"' % p["sha256"])
                parts.append("}")
            else:
                p["data"] = _b64e(it[2])
                parts += ('"', p["data"], '"}')
            env["payloads"].append(p)
        its = it = None
        parts.append("]}")
        s = "".join(parts)
        parts = None
        gc.collect()
        if is_publish:
            nc.publish(subject, s)
            if own:
                nc.flush()
        return env, s
    finally:
        if own:
            nc.close()


def _fixsur(r):
    # MicroPython's json does not join escaped UTF-16 surrogate pairs (\ud83d\ude00): do it first.
    o, i = bytearray(), 0
    while True:
        j = r.find(b"\\u", i)
        if j < 0:
            return o + r[i:]
        k, c = j, 0
        while k and r[k - 1] == 92:
            k -= 1
        if not (j - k) % 2 and r[j + 6:j + 8] == b"\\u":
            try:
                h, l = int(r[j + 2:j + 6], 16), int(r[j + 8:j + 12], 16)
                if 0xD800 <= h < 0xDC00 <= l < 0xE000:
                    c = 0x10000 + (h - 0xD800 << 10) + l - 0xDC00
            except ValueError:
                pass
        o += r[i:j] + chr(c).encode() if c else r[i:j + 2]
        i = j + (12 if c else 2)


def _jl(b):
    if isinstance(b, str):
        b = _fixsur(b.encode()) if "\\ud" in b or "\\uD" in b else b
    elif b"\\ud" in b or b"\\uD" in b:
        b = _fixsur(b)
    return json.loads(b)


_WS = (b" ", b"\n", b"\r", b"\t")


def _cut(raw):
    # json.loads would copy each big "data" string twice; instead the JSON is parsed with short
    # stand-ins ("\0nb<i>") and those values are read straight from the message (cuts[i] = start, end).
    mv, o, cuts, i, j = memoryview(raw), bytearray(), [], 0, 0
    while True:
        j = raw.find(b'"data"', j)
        if j < 0:
            break
        k, j = j, j + 6
        while k and raw[k - 1] == 92:
            k -= 1
        if (j - 6 - k) % 2:
            continue
        while raw[j:j + 1] in _WS:
            j += 1
        if raw[j:j + 1] != b":":
            continue
        j += 1
        while raw[j:j + 1] in _WS:
            j += 1
        if raw[j:j + 1] != b'"':
            continue
        j += 1
        e = raw.find(b'"', j)
        if e - j < 256 or raw.find(b"\\", j, e) >= 0:
            continue
        o += mv[i:j]
        o += ("\\u0000nb%d" % len(cuts)).encode()
        cuts.append((j, e))
        i = j = e
    if cuts:
        o += mv[i:]
        return o, cuts, mv
    return raw, cuts, mv


def _rs(v, c):
    # Puts cut strings back where they were not a payload's data.
    if isinstance(v, dict):
        for k in v:
            v[k] = _rs(v[k], c)
    elif isinstance(v, list):
        for i, x in enumerate(v):
            v[i] = _rs(x, c)
    elif isinstance(v, str) and v[:3] == "\0nb":
        return str(c(v), "utf-8")
    return v


def smartreceive(msg, fileserver_download_handler=_sync_fileserver_download, max_retries=3, base_delay=100,
                 max_delay=1000):
    # msg: bytes, str or a message with .data. Returns the header fields, "metadata",
    # "payloads": [(dataname, value, type), ...] and "payload_info": [{id, dataname, ...}, ...].
    raw = getattr(msg, "data", msg)
    raw = bytes(raw) if isinstance(raw, memoryview) else raw
    if not isinstance(raw, (bytes, bytearray, str)):
        raise _E("InvalidArgument", "need bytes, str or a message with .data")
    cuts = ()
    try:
        if not isinstance(raw, str):
            raw, cuts, mv = _cut(raw)
        e = _jl(raw)
        raw = None
        c = lambda v: mv[cuts[int(v[3:])][0]:cuts[int(v[3:])][1]]
        if cuts and isinstance(e, dict):
            for k in e:
                if k != "payloads":
                    e[k] = _rs(e[k], c)
            for p in e.get("payloads") or ():
                for k in p if isinstance(p, dict) else ():
                    if k != "data":
                        p[k] = _rs(p[k], c)
    except (ValueError, TypeError, UnicodeError):
        raise _E("InvalidEnvelope", "message is not UTF-8 JSON")
    if not isinstance(e, dict):
        raise _E("InvalidEnvelope", "envelope is not a JSON object")
    out = {}
    for k in _HF + ("metadata",):
        v, ty = e.get(k), dict if k == "metadata" else str
        if not isinstance(v, (ty, type(None))):
            raise _E("InvalidEnvelope", "header field %r has the wrong type" % k)
        out[k] = v or ty()
    pl = e.get("payloads")
    e = None
    if not isinstance(pl, list):
        raise _E("InvalidEnvelope", 'no "payloads" array')
    for p in pl:  # structure of every payload first, then decode
        if not isinstance(p, dict):
            raise _E("InvalidEnvelope", "payload entry is not an object")
        for k in ("dataname", "payload_type", "transport", "data", "size", "metadata"):
            v = p.get(k)
            if not (isinstance(v, int) and not isinstance(v, bool) and v >= 0 if k == "size" else
                    isinstance(v, (dict, type(None))) if k == "metadata" else isinstance(v, str)):
                raise _E("InvalidEnvelope", "payload field %r is missing or has the wrong type" % k)
        if p["transport"] not in ("direct", "link"):
            raise _E("InvalidEnvelope", "unknown transport %r" % p["transport"])
        if p["payload_type"] in _TABLES:
            raise NotSupportedError()
        if p["payload_type"] not in _TYPES:
            raise _E("UnknownPayloadType", repr(p["payload_type"]))
    res, inf = [], []
    for i in range(len(pl)):
        p, pl[i] = pl[i], None
        x = {"id": p.get("id") or ""}
        for k in ("dataname", "payload_type", "transport", "size", "metadata"):
            if p.get(k) is not None:
                x[k] = p[k]
        inf.append(x)
        if cuts and p["data"][:3] == "\0nb":
            p["data"] = c(p["data"])
        res.append(_decode(p, fileserver_download_handler, max_retries, base_delay, max_delay))
        p = None
        gc.collect()
    out["payloads"], out["payload_info"] = res, inf
    return out


def _decode(p, dl, mr, bd, md):
    t, enc, d, sz, n = p["payload_type"], p.get("encoding"), p["data"], p["size"], p["dataname"]
    p["data"] = None
    if p["transport"] == "link":
        d = d if isinstance(d, str) else str(d, "utf-8")
        try:
            d = dl(d, mr, bd, md, sz) if dl is _sync_fileserver_download else dl(d, mr, bd, md)
        except NATSBridgeError:
            raise
        except Exception as e:
            raise _E("DownloadFailed", "download handler: %r" % e)
        if not isinstance(d, (bytes, bytearray)):
            raise _E("DownloadFailed", "download handler returned %s, not bytes" % type(d).__name__)
    elif enc == "json":
        d = d.encode() if isinstance(d, str) else bytes(d)
    elif enc in (None, "base64", "arrow-ipc"):
        d = _b64(d)
    else:
        raise _E("BadEncoding", "payload %r: unknown encoding %r" % (n, enc))
    if len(d) != sz:
        raise _E("SizeMismatch", "payload %r: %d bytes, size says %d" % (n, len(d), sz))
    h = p.get("sha256")
    if h and _sha and _hex(_sha(d).digest()) != str(h).lower():
        raise _E("DigestMismatch", "payload %r: sha256 differs" % n)
    try:
        if t == "text":
            d = str(d, "utf-8")
        elif t == "dictionary":
            d = _jl(d)
    except (ValueError, UnicodeError):
        raise _E("BadEncoding", "payload %r is not valid %s" % (n, "UTF-8" if t == "text" else "JSON"))
    return n, d, t


def smartrequest(subject, data, timeout=10, broker_url="nats://localhost:4222", nats_connection=None,
                 fileserver_download_handler=_sync_fileserver_download, max_retries=3, base_delay=100,
                 max_delay=1000, **opts):
    # smartsend with reply_to = a fresh inbox; waits for one reply and returns it smartreceive'd.
    nc = nats_connection or connect(broker_url)
    try:
        ib = nc.new_inbox()
        s = smartsend(subject, data, broker_url=broker_url, nats_connection=nc, reply_to=ib,
                      is_publish=False, **opts)[1]
        m = nc.request(subject, s, timeout, ib)
        s = None
        return smartreceive(m, fileserver_download_handler, max_retries, base_delay, max_delay)
    finally:
        if not nats_connection:
            nc.close()


def reply(env, data, **opts):
    # Answers a received envelope: to its reply_to, reply_to_msg_id = its msg_id, same correlation_id.
    if not isinstance(env, dict) or not env.get("reply_to"):
        raise _E("InvalidArgument", "the envelope has no reply_to")
    opts["correlation_id"] = opts.get("correlation_id") or env.get("correlation_id") or None
    opts["reply_to_msg_id"] = env.get("msg_id") or ""
    return smartsend(env["reply_to"], data, **opts)


def subscribe(subject, cb, broker_url="nats://localhost:4222", nats_connection=None, timeout=None, count=0,
              on_error=None, **recv):
    # Blocking: cb(env) for each envelope on subject until count messages or timeout seconds.
    # A message that does not decode raises, or goes to on_error(err, msg) when given.
    nc = nats_connection or connect(broker_url)

    def h(m):
        try:
            env = smartreceive(m, **recv)
        except NATSBridgeError as e:
            if not on_error:
                raise
            return on_error(e, m)
        cb(env)
    sid = nc.subscribe(subject, h)
    try:
        return nc.loop(timeout, count)
    finally:
        nc.unsubscribe(sid)
        if not nats_connection:
            nc.close()


class NATSBridge:
    smartsend, smartreceive, smartrequest = staticmethod(smartsend), staticmethod(smartreceive), staticmethod(smartrequest)
    reply, subscribe, connect = staticmethod(reply), staticmethod(subscribe), staticmethod(connect)
    plik_oneshot_upload = staticmethod(plik_oneshot_upload)
    fetch_with_backoff = staticmethod(_sync_fileserver_download)
    NATSBridgeError, NotSupportedError = NATSBridgeError, NotSupportedError
