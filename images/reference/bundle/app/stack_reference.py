"""Reference appliance services: dashboard, backend, object-store and mail-catcher stand-ins.

One process, one persistent PostgreSQL connection (a connection per request cost 0.6-1.6 s under
TCG in the prototype). Keys live in the "ApiKeySet" table; rotation goes through a loopback-only
admin port used by /usr/local/bin/trigger-fast-rotate.
"""
import hashlib
import json
import os
import re
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg2

HEX64 = re.compile(r"^[0-9a-f]{64}$")
KEY_ID = "3142e763-b230-44b5-8636-aa62f7489c26"
FIELDS = {
    "STACK_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY": "publishableClientKey",
    "STACK_INTERNAL_PROJECT_SECRET_SERVER_KEY": "secretServerKey",
    "STACK_SEED_INTERNAL_PROJECT_SUPER_SECRET_ADMIN_KEY": "superSecretAdminKey",
    "CRON_SECRET": "cronSecret",
}


def runtime_env():
    env = {}
    for path in ("/run/stack/runtime.env",):
        try:
            with open(path) as f:
                for line in f:
                    if "=" in line:
                        k, v = line.rstrip("\n").split("=", 1)
                        env[k] = v
        except OSError:
            pass
    return env


class Db:
    def __init__(self):
        self.lock = threading.Lock()
        self.conn = None

    def _connect(self):
        self.conn = psycopg2.connect(dbname="stack", user="stack", host="/var/run/postgresql")
        self.conn.autocommit = True

    def query(self, sql, args=()):
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


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    role = "?"

    def log_message(self, *args):
        pass

    def send(self, code, body, ctype="application/json"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path, _, query = self.path.partition("?")
        try:
            self.route(path, query)
        except Exception as e:  # a broken DB must answer 503, never hang
            self.send(503, json.dumps({"error": str(e)}))

    def route(self, path, query):
        role = self.role
        if role == "dashboard" and path == "/handler/sign-in":
            return self.send(200, "<!doctype html><title>Sign in</title><h1>Stack reference dashboard</h1>", "text/html")
        if role == "backend" and path == "/health":
            if "db=1" in query.split("&"):
                DB.query("SELECT 1")
            return self.send(200, json.dumps({"status": "ok"}))
        if role == "backend" and path == "/api/v1/projects/current":
            project = self.headers.get("x-stack-project-id", "")
            key = self.headers.get("x-stack-publishable-client-key", "")
            rows = DB.query('SELECT "projectId" FROM "ApiKeySet" WHERE "projectId" = %s AND "publishableClientKey" = %s', (project, key))
            if not rows:
                return self.send(401, json.dumps({"code": "INVALID_PUBLISHABLE_CLIENT_KEY"}))
            return self.send(200, json.dumps({"id": project, "display_name": "Stack Dashboard" if project == "internal" else "Local project"}))
        if role == "minio" and path == "/minio/health/live":
            return self.send(200, "")
        if role == "inbucket" and path == "/":
            return self.send(200, "<!doctype html><title>Inbucket</title>", "text/html")
        return self.send(404, json.dumps({"error": "not found"}))

    def do_POST(self):
        if self.role == "backend" and self.path == "/api/v1/internal/local-emulator/project":
            try:
                return self.local_project()
            except Exception as e:
                return self.send(503, json.dumps({"error": str(e)}))
        if self.role != "admin" or self.path != "/rotate":
            return self.send(404, "{}")
        body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0)).decode()
        values = {}
        for line in body.splitlines():
            if "=" in line:
                k, v = line.split("=", 1)
                values[k] = v
        if set(values) != set(FIELDS) or not all(HEX64.match(v) for v in values.values()):
            return self.send(400, json.dumps({"error": "need the four keys, each 64 lowercase hex"}))
        cols = ", ".join('"%s" = %%s' % FIELDS[k] for k in FIELDS)
        DB.query('UPDATE "ApiKeySet" SET %s, "updatedAt" = now() WHERE id = %%s' % cols, [values[k] for k in FIELDS] + [KEY_ID])
        # Exit 0 only once the service answers with the new values: read them back through the same path.
        row = DB.query('SELECT "publishableClientKey" FROM "ApiKeySet" WHERE id = %s', (KEY_ID,))
        ok = bool(row) and row[0][0] == values["STACK_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY"]
        return self.send(200 if ok else 500, json.dumps({"rotated": ok}))


    def local_project(self):
        """The emulator's project for a config file on the host (as Stack's endpoint of this name).

        Client-level auth with the internal project's current publishable key, as in Stack; the file must
        be visible through the host share (mounted at /host + its absolute host path)."""
        key = self.headers.get("x-stack-publishable-client-key", "")
        if self.headers.get("x-stack-project-id") != "internal" or not DB.query(
            'SELECT 1 FROM "ApiKeySet" WHERE id = %s AND "publishableClientKey" = %s', (KEY_ID, key)
        ):
            return self.send(401, json.dumps({"code": "INVALID_PUBLISHABLE_CLIENT_KEY"}))
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0") or 0)) or b"{}")
        path = body.get("absolute_file_path", "")
        if not isinstance(path, str) or not path.startswith("/"):
            return self.send(400, json.dumps({"error": "absolute_file_path must be an absolute path"}))
        try:
            with open("/host" + path, "rb") as f:
                f.read(1 << 20)
        except OSError as e:
            return self.send(400, json.dumps({"error": "config file not readable through the host share: %s" % e}))
        project_id = hashlib.sha256(path.encode()).hexdigest()[:32]
        rows = DB.query('SELECT "publishableClientKey", "secretServerKey", "superSecretAdminKey" FROM "ApiKeySet" WHERE id = %s', (project_id,))
        if not rows:
            keys = [secrets.token_hex(32) for _ in range(4)]
            DB.query('INSERT INTO "ApiKeySet" VALUES (%s, %s, %s, %s, %s, %s, now()) ON CONFLICT (id) DO NOTHING', [project_id, project_id] + keys)
            rows = DB.query('SELECT "publishableClientKey", "secretServerKey", "superSecretAdminKey" FROM "ApiKeySet" WHERE id = %s', (project_id,))
        pck, ssk, sak = rows[0]
        return self.send(200, json.dumps({"project_id": project_id, "publishable_client_key": pck, "secret_server_key": ssk, "super_secret_admin_key": sak}))


def serve(role, port, host="0.0.0.0"):
    handler = type("H_" + role, (Handler,), {"role": role})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()


def main():
    env = runtime_env()
    prefix = env.get("STACK_EMULATOR_PORT_PREFIX") or "81"
    serve("dashboard", int(prefix + "01"))
    serve("backend", int(prefix + "02"))
    serve("minio", 9090)
    serve("inbucket", 9001)
    serve("admin", 8199, "127.0.0.1")
    try:
        DB.query("SELECT 1")  # open the connection before the first request
    except psycopg2.OperationalError:
        pass  # the database is still starting; the first request that needs it connects
    threading.Event().wait()


if __name__ == "__main__":
    main()
