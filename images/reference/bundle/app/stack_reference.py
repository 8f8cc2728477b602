"""Reference appliance services: dashboard, backend, object-store and mail-catcher stand-ins.

One process, one persistent PostgreSQL connection (a connection per request cost 0.6-1.6 s under
TCG in the prototype). Keys live in the "ApiKeySet" table; rotation goes through a loopback-only
admin port used by /usr/local/bin/trigger-fast-rotate.
"""
import os
import socketserver
import threading

# Imports are the cost of starting under TCG: http.server (through http.client and email) took 0.85 s
# of an idle emulated guest and json, re and secrets 0.2 s each. The services listen first with the
# standard library's socket server and the small HTTP/1.1 reader below; json, hashlib and psycopg2 are
# imported on a background thread right after the ports are open (connect_early).

KEY_ID = "3142e763-b230-44b5-8636-aa62f7489c26"
FIELDS = {
    "STACK_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY": "publishableClientKey",
    "STACK_INTERNAL_PROJECT_SECRET_SERVER_KEY": "secretServerKey",
    "STACK_SEED_INTERNAL_PROJECT_SUPER_SECRET_ADMIN_KEY": "superSecretAdminKey",
    "CRON_SECRET": "cronSecret",
}
REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 500: "Internal Server Error", 503: "Service Unavailable"}
DATA_PREFIX = "/api/v1/internal/emulator-test/data/"
MAX_LINE = 65536
MAX_BODY = 1 << 20


def is_hex64(value):
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def to_json(obj):
    import json

    return json.dumps(obj)


def runtime_env(path="/run/stack/runtime.env", wait_s=60.0):
    """KEY=VALUE lines stack-config writes (renamed into place) while this process starts."""
    import time

    end = time.monotonic() + wait_s
    while not os.path.exists(path) and time.monotonic() < end:
        time.sleep(0.05)
    env = {}
    try:
        with open(path) as f:
            for line in f:
                if "=" in line:
                    k, v = line.rstrip("\n").split("=", 1)
                    env[k] = v
    except OSError:
        pass  # no config disk: the defaults
    return env


class Db:
    def __init__(self):
        self.lock = threading.Lock()
        self.conn = None

    def _connect(self):
        import psycopg2

        self.conn = psycopg2.connect(dbname="stack", user="stack", host="/var/run/postgresql")
        self.conn.autocommit = True

    def query(self, sql, args=()):
        import psycopg2

        with self.lock:
            for attempt in (1, 2):
                try:
                    if self.conn is None or self.conn.closed:
                        self._connect()
                    with self.conn.cursor() as cur:
                        cur.execute(sql, args)
                        return cur.fetchall() if cur.description else []
                except psycopg2.OperationalError:
                    self.conn = None
                    if attempt == 2:
                        raise


DB = Db()


class BadRequest(Exception):
    pass


class Handler(socketserver.StreamRequestHandler):
    """HTTP/1.1 with persistent connections: what the health probes, the CLI and the hooks send."""

    role = "?"

    def handle(self):
        while True:
            try:
                request = self.read_request()
            except BadRequest as e:
                return self.send(400, to_json({"error": str(e)}), keep=False)
            if request is None:
                return
            method, target, headers, body, keep = request
            self.headers = headers
            self.body = body
            try:
                code, payload, ctype = self.route(method, target)
            except Exception as e:  # a broken DB must answer 503, never hang
                code, payload, ctype = 503, to_json({"error": str(e)}), "application/json"
            self.send(code, payload, ctype, keep)
            if not keep:
                return

    def read_request(self):
        line = self.rfile.readline(MAX_LINE + 1)
        while line in (b"\r\n", b"\n"):  # RFC 9112 2.2: ignore empty lines before a request
            line = self.rfile.readline(MAX_LINE + 1)
        if not line:
            return None
        parts = line.decode("latin-1").split()
        if len(line) > MAX_LINE or len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise BadRequest("malformed request line")
        method, target, version = parts
        headers = {}
        while True:
            h = self.rfile.readline(MAX_LINE + 1)
            if h in (b"\r\n", b"\n", b""):
                break
            name, sep, value = h.decode("latin-1").partition(":")
            if not sep or len(h) > MAX_LINE or len(headers) > 100:
                raise BadRequest("malformed header")
            headers[name.strip().lower()] = value.strip()
        if "transfer-encoding" in headers:
            raise BadRequest("chunked request bodies are not supported")
        length = headers.get("content-length", "0")
        if not length.isdigit() or int(length) > MAX_BODY:
            raise BadRequest("bad Content-Length")
        body = self.rfile.read(int(length))
        connection = headers.get("connection", "").lower()
        keep = connection != "close" if version == "HTTP/1.1" else connection == "keep-alive"
        return method, target, headers, body, keep

    def send(self, code, body, ctype="application/json", keep=True):
        data = body.encode() if isinstance(body, str) else body
        head = "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n%s\r\n" % (
            code, REASONS.get(code, "Error"), ctype, len(data), "" if keep else "Connection: close\r\n")
        self.wfile.write(head.encode("latin-1") + data)

    def route(self, method, target):
        path, _, query = target.partition("?")
        if self.role == "backend" and path.startswith(DATA_PREFIX) and method in ("GET", "PUT"):
            return self.test_data(method, path[len(DATA_PREFIX):])
        if method == "GET":
            return self.get(path, query)
        if method == "POST":
            return self.post(path)
        return 404, to_json({"error": "not found"}), "application/json"

    def authorized(self):
        """The internal project's current publishable key, as /api/v1/projects/current checks it."""
        project = self.headers.get("x-stack-project-id", "")
        key = self.headers.get("x-stack-publishable-client-key", "")
        return project == "internal" and bool(DB.query('SELECT 1 FROM "ApiKeySet" WHERE id = %s AND "publishableClientKey" = %s', (KEY_ID, key)))

    def test_data(self, method, name):
        """A reference-appliance extra (guest contract): bodies kept in PostgreSQL, so a test can prove
        that data survives stop and start."""
        if not name or len(name) > 200 or "/" in name:
            return 400, '{"error": "bad name"}', "application/json"
        if not self.authorized():
            return 401, '{"code": "INVALID_PUBLISHABLE_CLIENT_KEY"}', "application/json"
        if method == "PUT":
            DB.query('INSERT INTO "EmulatorTestData" (name, body) VALUES (%s, %s) ON CONFLICT (name) DO UPDATE SET body = EXCLUDED.body, "updatedAt" = now()', (name, self.body))
            return 200, '{"stored": true}', "application/json"
        rows = DB.query('SELECT body FROM "EmulatorTestData" WHERE name = %s', (name,))
        if not rows:
            return 404, '{"error": "no such data"}', "application/json"
        return 200, bytes(rows[0][0]), "application/octet-stream"

    def get(self, path, query):
        role = self.role
        if role == "dashboard" and path == "/handler/sign-in":
            return 200, "<!doctype html><title>Sign in</title><h1>Stack reference dashboard</h1>", "text/html"
        if role == "backend" and path == "/health":
            if "db=1" in query.split("&"):
                DB.query("SELECT 1")
            return 200, '{"status": "ok"}', "application/json"
        if role == "backend" and path == "/api/v1/projects/current":
            project = self.headers.get("x-stack-project-id", "")
            key = self.headers.get("x-stack-publishable-client-key", "")
            rows = DB.query('SELECT "projectId" FROM "ApiKeySet" WHERE "projectId" = %s AND "publishableClientKey" = %s', (project, key))
            if not rows:
                return 401, '{"code": "INVALID_PUBLISHABLE_CLIENT_KEY"}', "application/json"
            return 200, to_json({"id": project, "display_name": "Stack Dashboard" if project == "internal" else "Local project"}), "application/json"
        if role == "backend" and path == "/api/v1/internal/emulator-test/runtime-env":
            # What the guest was told (config disk at boot, retarget-host-ports after a resume): read
            # at each request, so a test sees the host ports this instance runs on. Not secret.
            return 200, to_json(runtime_env(wait_s=0)), "application/json"
        if role == "minio" and path == "/minio/health/live":
            return 200, "", "application/json"
        if role == "inbucket" and path == "/":
            return 200, "<!doctype html><title>Inbucket</title>", "text/html"
        return 404, '{"error": "not found"}', "application/json"

    def post(self, path):
        if self.role == "backend" and path == "/api/v1/internal/local-emulator/project":
            return self.local_project()
        if self.role != "admin" or path != "/rotate":
            return 404, "{}", "application/json"
        values = {}
        for line in self.body.decode().splitlines():
            if "=" in line:
                k, v = line.split("=", 1)
                values[k] = v
        if set(values) != set(FIELDS) or not all(is_hex64(v) for v in values.values()):
            return 400, '{"error": "need the four keys, each 64 lowercase hex"}', "application/json"
        cols = ", ".join('"%s" = %%s' % FIELDS[k] for k in FIELDS)
        DB.query('UPDATE "ApiKeySet" SET %s, "updatedAt" = now() WHERE id = %%s' % cols, [values[k] for k in FIELDS] + [KEY_ID])
        # Exit 0 only once the service answers with the new values: read them back through the same path.
        row = DB.query('SELECT "publishableClientKey" FROM "ApiKeySet" WHERE id = %s', (KEY_ID,))
        ok = bool(row) and row[0][0] == values["STACK_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY"]
        return (200 if ok else 500), to_json({"rotated": ok}), "application/json"

    def local_project(self):
        """The emulator's project for a config file on the host (as Stack's endpoint of this name).

        Client-level auth with the internal project's current publishable key, as in Stack; the file must
        be visible through the host share (mounted at /host + its absolute host path)."""
        import hashlib
        import json

        key = self.headers.get("x-stack-publishable-client-key", "")
        if self.headers.get("x-stack-project-id") != "internal" or not DB.query(
            'SELECT 1 FROM "ApiKeySet" WHERE id = %s AND "publishableClientKey" = %s', (KEY_ID, key)
        ):
            return 401, '{"code": "INVALID_PUBLISHABLE_CLIENT_KEY"}', "application/json"
        body = json.loads(self.body or b"{}")
        path = body.get("absolute_file_path", "")
        if not isinstance(path, str) or not path.startswith("/"):
            return 400, '{"error": "absolute_file_path must be an absolute path"}', "application/json"
        try:
            with open("/host" + path, "rb") as f:
                f.read(1 << 20)
        except OSError as e:
            # Only what the user named is shared (guest contract, "Shares"): a file outside every share is
            # not there, and the way on is to share its directory, not a wider default.
            folder = os.path.dirname(path) or "/"
            return 400, json.dumps({
                "error": "config file %s is not readable through the host shares (%s): share its directory: stack-emulator start --share %s" % (path, e.strerror or e, folder),
                "share": folder,
            }), "application/json"
        project_id = hashlib.sha256(path.encode()).hexdigest()[:32]
        rows = DB.query('SELECT "publishableClientKey", "secretServerKey", "superSecretAdminKey" FROM "ApiKeySet" WHERE id = %s', (project_id,))
        if not rows:
            keys = [os.urandom(32).hex() for _ in range(4)]
            DB.query('INSERT INTO "ApiKeySet" VALUES (%s, %s, %s, %s, %s, %s, now()) ON CONFLICT (id) DO NOTHING', [project_id, project_id] + keys)
            rows = DB.query('SELECT "publishableClientKey", "secretServerKey", "superSecretAdminKey" FROM "ApiKeySet" WHERE id = %s', (project_id,))
        pck, ssk, sak = rows[0]
        return 200, json.dumps({"project_id": project_id, "publishable_client_key": pck, "secret_server_key": ssk, "super_secret_admin_key": sak}), "application/json"


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def serve(role, port, host="0.0.0.0"):
    """Listens on host:port (0: any free port) and serves on a thread; returns the server."""
    server = Server((host, port), type("H_" + role, (Handler,), {"role": role}))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def connect_early():
    # Everything a request may need is imported here, once the ports are open, so that it is in
    # every snapshot's memory: a module first imported by the rotation after a resume cost 0.3-0.9 s
    # of the resume under TCG.
    import hashlib  # noqa: F401
    import json  # noqa: F401

    try:
        DB.query("SELECT 1")  # import psycopg2 and open the connection before the first request
    except Exception:
        pass  # the database is still starting; the first request that needs it connects


def main():
    env = runtime_env()
    prefix = env.get("STACK_EMULATOR_PORT_PREFIX") or "81"
    serve("dashboard", int(prefix + "01"))
    serve("backend", int(prefix + "02"))
    serve("minio", 9090)
    serve("inbucket", 9001)
    serve("admin", 8199, "127.0.0.1")
    threading.Thread(target=connect_early, daemon=True).start()
    threading.Event().wait()


if __name__ == "__main__":
    main()
