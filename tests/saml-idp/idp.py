"""A real SAML 2.0 identity provider playing ADFS, for tests: pysaml2's `saml2.server.Server`
behind Python's `http.server`, on 127.0.0.1. Started by sekisho-testkit's `SamlIdp`.

    python3 idp.py DIR [--port N] [--now SECONDS]

DIR is a scratch folder (keys, certificates). The server binds 127.0.0.1:N (0, the default,
lets the OS pick) and prints ONE JSON line on stdout once it listens:
{"port": P, "entity_id": ..., "metadata": ..., "sso": ...}. It exits when its stdin closes (the
test process that holds the pipe died) or when killed.

Routes, as ADFS has them:
- GET  /FederationMetadata/2007-06/FederationMetadata.xml: signed IdP metadata (entity ID
  http://127.0.0.1:P/adfs/services/trust, SSO at /adfs/ls/ for HTTP-Redirect and HTTP-POST, one
  KeyDescriptor use="signing" per listed certificate).
- GET|POST /adfs/ls/: an AuthnRequest (Redirect binding: deflated query; POST binding: form) from
  a registered SP -> 200 HTML auto-posting SAMLResponse (+ RelayState) to the SP's ACS. Response
  and Assertion are signed with RSA-SHA256 / SHA-256; persistent NameID = the user's
  ImmutableID; ADFS claim URIs as attributes. No login form: like ADFS with Windows integrated
  authentication, the current user (below) is signed in.
- GET  /adfs/ls/IdpInitiatedSignOn.aspx?loginToRp=<SP entity ID>: ADFS's IdP-initiated sign-on, an
  unsolicited response (no InResponseTo) auto-posted to the SP's default ACS; 400 for an SP that is
  not registered.

Test controls (JSON in, JSON out):
- POST /_test/user {"upn", "immutable_id"?, "email"?, "name"?}: who is signed in from now on.
  immutable_id defaults to a stable objectGUID-like value derived from the UPN; email to the UPN.
- POST /_test/sp {"metadata": "<xml>"} or {"url": "..."}: trust an SP (its entity ID and ACS).
  Answers {"entity_id": ...}.
- POST /_test/signing {"certs": ["a", "b"], "sign_with": "b"}: the certificates the metadata
  lists (in order) and the one that signs responses. Certificates are named by the test and
  generated on first use (RSA-2048, self-signed). At start: {"certs": ["a"], "sign_with": "a"}.
  Answers {"certs": [["a", "<base64 DER>"], ...], "sign_with": "b", "sign_with_cert": "<base64>"};
  GET answers the same.
- POST /_test/hash {"algorithm": "sha256" | "sha1"}: the relying-party trust's "Secure hash
  algorithm" of ADFS (SHA-256 by default, SHA-1 still offered): responses are then signed with
  RSA-SHA1 over SHA-1 digests. Answers {"algorithm": ...}; GET answers the same.
- GET|POST /_test/clock {"now": seconds}: the time the IdP stamps (IssueInstant, NotBefore,
  NotOnOrAfter, AuthnInstant) follows the test's fake clock; it runs on in real time between
  settings. pysaml2 reads `time.gmtime()`, `time.time()` and `datetime.now()`: all three are
  shifted below, before pysaml2 is imported.
"""

import base64
import warnings
import datetime as _dt
import hashlib
import json
import os
import shutil
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# pysaml2's own dependency: keys and certificates without a call to the openssl command.
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

# --- The shifted clock --------------------------------------------------------------------------
_wall_time = time.time
_wall_gmtime = time.gmtime
_clock_offset = 0.0


def _now():
    return _wall_time() + _clock_offset


def _set_now(seconds):
    global _clock_offset
    _clock_offset = float(seconds) - _wall_time()


def _gmtime(secs=None):
    return _wall_gmtime(_now() if secs is None else secs)


class _ShiftedDatetime(_dt.datetime):
    @classmethod
    def now(cls, tz=None):
        return _dt.datetime.fromtimestamp(_now(), tz)

    @classmethod
    def utcnow(cls):
        return _dt.datetime.fromtimestamp(_now(), _dt.timezone.utc).replace(tzinfo=None)


time.time = _now
time.gmtime = _gmtime

# pysaml2 imports a cipher mode that `cryptography` has deprecated: noise in the logs, not ours.
warnings.filterwarnings("ignore", message=".*CFB has been moved.*")

# pysaml2 after the clock is in place (its modules bind `datetime` at import: replaced below).
import saml2.cert  # noqa: E402
import saml2.sigver  # noqa: E402
import saml2.time_util  # noqa: E402
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, saml  # noqa: E402
from saml2.config import IdPConfig  # noqa: E402
from saml2.metadata import create_metadata_string  # noqa: E402
from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_PERSISTENT  # noqa: E402
from saml2.server import Server  # noqa: E402
from saml2.xmldsig import DIGEST_SHA1, DIGEST_SHA256, SIG_RSA_SHA1, SIG_RSA_SHA256  # noqa: E402

for _module in (saml2.time_util, saml2.sigver, saml2.cert):
    _module.datetime = _ShiftedDatetime

METADATA_PATH = "/FederationMetadata/2007-06/FederationMetadata.xml"
SSO_PATH = "/adfs/ls/"
IDP_INITIATED_PATH = "/adfs/ls/IdpInitiatedSignOn.aspx"
# ADFS's relying-party "Secure hash algorithm" choices: (signature, digest).
HASHES = {"sha256": (SIG_RSA_SHA256, DIGEST_SHA256), "sha1": (SIG_RSA_SHA1, DIGEST_SHA1)}
CLAIM = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/"
UPN = CLAIM + "upn"
EMAIL = CLAIM + "emailaddress"
NAME = CLAIM + "name"
IMMUTABLE_ID = "http://schemas.microsoft.com/LiveID/Federation/2008/05/ImmutableID"
# What ADFS states for Windows integrated authentication.
AUTHN_CLASS_WINDOWS = "urn:federation:authentication:windows"


def immutable_id_for(upn):
    """A stable objectGUID-like value: base64 of 16 bytes, as ADFS's ImmutableID claim."""
    return base64.b64encode(hashlib.md5(upn.lower().encode()).digest()).decode()


class Idp:
    def __init__(self, folder, base):
        self.folder = folder
        self.base = base
        self.entity_id = base + "/adfs/services/trust"
        self.xmlsec = shutil.which("xmlsec1")
        if not self.xmlsec:
            raise SystemExit("xmlsec1 not found: install Debian's xmlsec1 (scripts/test does)")
        self.lock = threading.Lock()
        self.sp_metadata = []
        self.user = None
        self.set_user({"upn": "user@ad.example"})
        self.certs = ["a"]
        self.sign_with = "a"
        self.hash = "sha256"
        self.rebuild()

    # --- keys ---
    def key_files(self, name):
        if not name or not name.isalnum():
            raise ValueError(f"a certificate name is letters and digits: {name!r}")
        key = os.path.join(self.folder, f"{name}.key")
        cert = os.path.join(self.folder, f"{name}.pem")
        if not os.path.exists(cert):
            # Valid from a day before the IdP's (shifted) now for two years: ADFS's token-signing
            # certificates are self-signed and live a year or more.
            private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"ADFS Signing - {name}")])
            now = _dt.datetime.fromtimestamp(_now(), _dt.timezone.utc)
            certificate = (
                x509.CertificateBuilder()
                .subject_name(subject)
                .issuer_name(subject)
                .public_key(private.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - _dt.timedelta(days=1))
                .not_valid_after(now + _dt.timedelta(days=2 * 365))
                .sign(private, hashes.SHA256())
            )
            with open(key, "wb") as f:
                f.write(private.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.TraditionalOpenSSL,
                    serialization.NoEncryption(),
                ))
            with open(cert, "wb") as f:
                f.write(certificate.public_bytes(serialization.Encoding.PEM))
        return key, cert

    def cert_b64(self, name):
        _, cert = self.key_files(name)
        with open(cert) as f:
            lines = [line.strip() for line in f if line.strip() and "-----" not in line]
        return "".join(lines)

    # --- pysaml2 configuration ---
    def config(self, listed, key_name):
        key, _ = self.key_files(key_name)
        sso = self.base + SSO_PATH
        conf = {
            "entityid": self.entity_id,
            "xmlsec_binary": self.xmlsec,
            "key_file": key,
            "cert_file": self.key_files(listed[0])[1],
            "additional_cert_files": [self.key_files(n)[1] for n in listed[1:]] or None,
            "allow_unknown_attributes": True,
            "service": {
                "idp": {
                    "name": "ADFS (Sekisho test IdP)",
                    "endpoints": {
                        "single_sign_on_service": [
                            (sso, BINDING_HTTP_REDIRECT),
                            (sso, BINDING_HTTP_POST),
                        ],
                    },
                    "name_id_format": [NAMEID_FORMAT_PERSISTENT],
                    # Here, under service.idp: at the top level pysaml2 ignores them and signs
                    # with RSA-SHA1.
                    "signing_algorithm": SIG_RSA_SHA256,
                    "digest_algorithm": DIGEST_SHA256,
                    "sign_response": True,
                    "sign_assertion": True,
                    "want_authn_requests_signed": False,
                    "policy": {
                        "default": {
                            "lifetime": {"minutes": 60},
                            "attribute_restrictions": None,
                            "name_form": NAME_FORMAT_URI,
                        },
                    },
                },
            },
            "metadata": {"inline": list(self.sp_metadata)} if self.sp_metadata else {},
        }
        loaded = IdPConfig()
        loaded.load(conf)
        return loaded

    def rebuild(self):
        """The Server signs with `sign_with`; the metadata lists `certs` (signed by the first)."""
        server_conf = self.config([self.sign_with], self.sign_with)
        self.server = Server(config=server_conf)
        self.metadata_conf = self.config(self.certs, self.certs[0])

    # --- controls ---
    def set_user(self, body):
        upn = body.get("upn")
        if not isinstance(upn, str) or not upn:
            raise ValueError("upn is required")
        self.user = {
            "upn": upn,
            "immutable_id": body.get("immutable_id") or immutable_id_for(upn),
            "email": body.get("email") or upn,
            "name": body.get("name") or upn.split("@")[0],
        }
        return self.user

    def add_sp(self, body):
        xml = body.get("metadata")
        if not xml and body.get("url"):
            with urllib.request.urlopen(body["url"], timeout=10) as answer:
                xml = answer.read().decode()
        if not xml:
            raise ValueError("metadata (XML) or url is required")
        # Parsed by pysaml2 first, so a bad document is refused here and not at the next rebuild.
        probe = Server(config=self.config([self.sign_with], self.sign_with))
        probe.metadata.load("inline", xml)
        # A document for an SP already trusted replaces the earlier one, as updating ADFS's
        # relying-party trust does (else the first document would keep answering).
        import xml.etree.ElementTree as ET
        entity_id = ET.fromstring(xml).get("entityID")
        self.sp_metadata = [
            d for d in self.sp_metadata if ET.fromstring(d).get("entityID") != entity_id
        ]
        self.sp_metadata.append(xml)
        self.rebuild()
        return {"entity_id": entity_id}

    def set_signing(self, body):
        certs = body.get("certs") or self.certs
        sign_with = body.get("sign_with") or certs[0]
        for name in list(certs) + [sign_with]:
            self.key_files(name)
        self.certs, self.sign_with = list(certs), sign_with
        self.rebuild()
        return self.signing()

    def set_hash(self, body):
        algorithm = body.get("algorithm")
        if algorithm not in HASHES:
            raise ValueError(f"algorithm is one of {sorted(HASHES)}: {algorithm!r}")
        self.hash = algorithm
        return {"algorithm": self.hash}

    def signing(self):
        return {
            "certs": [[n, self.cert_b64(n)] for n in self.certs],
            "sign_with": self.sign_with,
            "sign_with_cert": self.cert_b64(self.sign_with),
        }

    # --- SAML ---
    def metadata(self):
        return create_metadata_string(
            None,
            config=self.metadata_conf,
            sign=True,
            sign_alg=SIG_RSA_SHA256,
            digest_alg=DIGEST_SHA256,
        )

    def sso(self, saml_request, binding, relay_state):
        parsed = self.server.parse_authn_request(saml_request, binding)
        request = parsed.message
        args = self.server.response_args(request, [BINDING_HTTP_POST])
        return self.respond(args["sp_entity_id"], args["in_response_to"], args["destination"], relay_state)

    def idp_initiated(self, sp):
        """ADFS's IdpInitiatedSignOn.aspx?loginToRp=SP: an unsolicited response to the SP's ACS."""
        if sp not in self.server.metadata.keys():
            raise ValueError(f"no relying party trust for {sp!r}")
        _binding, destination = self.server.pick_binding(
            "assertion_consumer_service", [BINDING_HTTP_POST], descr_type="spsso", entity_id=sp
        )
        return self.respond(sp, None, destination, None)

    def respond(self, sp, in_response_to, destination, relay_state):
        sign_alg, digest_alg = HASHES[self.hash]
        user = self.user
        name_id = saml.NameID(
            format=NAMEID_FORMAT_PERSISTENT,
            name_qualifier=self.entity_id,
            sp_name_qualifier=sp,
            text=user["immutable_id"],
        )
        identity = {
            UPN: [user["upn"]],
            EMAIL: [user["email"]],
            NAME: [user["name"]],
            IMMUTABLE_ID: [user["immutable_id"]],
        }
        response = self.server.create_authn_response(
            identity,
            in_response_to=in_response_to,
            destination=destination,
            sp_entity_id=sp,
            name_id=name_id,
            authn={"class_ref": AUTHN_CLASS_WINDOWS, "authn_auth": self.entity_id},
            sign_response=True,
            sign_assertion=True,
            sign_alg=sign_alg,
            digest_alg=digest_alg,
        )
        http = self.server.apply_binding(
            BINDING_HTTP_POST,
            str(response),
            destination,
            relay_state,
            response=True,
        )
        return http["data"]


class Handler(BaseHTTPRequestHandler):
    idp = None  # set in main

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.command, fmt % args))

    def send(self, status, body, content_type):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def json(self, status, value):
        self.send(status, json.dumps(value), "application/json")

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length).decode() if length else ""

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def route(self, method):
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        idp = self.idp
        try:
            with idp.lock:
                if path.lower() == METADATA_PATH.lower() and method == "GET":
                    return self.send(200, idp.metadata(), "application/samlmetadata+xml")
                if path.lower() == IDP_INITIATED_PATH.lower() and method == "GET":
                    sp = dict(urllib.parse.parse_qsl(url.query)).get("loginToRp", "")
                    try:
                        page = idp.idp_initiated(sp)
                    except Exception as e:
                        return self.send(400, f"refused: {type(e).__name__}: {e}", "text/plain; charset=utf-8")
                    return self.send(200, page, "text/html; charset=utf-8")
                if path in (SSO_PATH, SSO_PATH.rstrip("/")):
                    if method == "GET":
                        form = dict(urllib.parse.parse_qsl(url.query))
                        binding = BINDING_HTTP_REDIRECT
                    else:
                        form = dict(urllib.parse.parse_qsl(self.body()))
                        binding = BINDING_HTTP_POST
                    if "SAMLRequest" not in form:
                        return self.send(400, "no SAMLRequest", "text/plain; charset=utf-8")
                    try:
                        page = idp.sso(form["SAMLRequest"], binding, form.get("RelayState"))
                    except Exception as e:  # ADFS answers a bad request with an error page
                        return self.send(400, f"refused: {type(e).__name__}: {e}", "text/plain; charset=utf-8")
                    return self.send(200, page, "text/html; charset=utf-8")
                if path == "/_test/hash":
                    if method == "POST":
                        return self.json(200, idp.set_hash(json.loads(self.body())))
                    return self.json(200, {"algorithm": idp.hash})
                if path == "/_test/clock":
                    if method == "POST":
                        _set_now(json.loads(self.body())["now"])
                    return self.json(200, {"now": int(_now())})
                if path == "/_test/user" and method == "POST":
                    return self.json(200, idp.set_user(json.loads(self.body())))
                if path == "/_test/sp" and method == "POST":
                    return self.json(200, idp.add_sp(json.loads(self.body())))
                if path == "/_test/signing":
                    if method == "POST":
                        return self.json(200, idp.set_signing(json.loads(self.body())))
                    return self.json(200, idp.signing())
            return self.send(404, "not found", "text/plain; charset=utf-8")
        except Exception as e:
            return self.json(400, {"error": f"{type(e).__name__}: {e}"})


def main():
    args = sys.argv[1:]
    if not args:
        raise SystemExit(__doc__)
    folder = args[0]
    port = 0
    if "--port" in args:
        port = int(args[args.index("--port") + 1])
    if "--now" in args:
        _set_now(int(args[args.index("--now") + 1]))
    os.makedirs(folder, exist_ok=True)
    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    port = httpd.server_address[1]
    base = f"http://127.0.0.1:{port}"
    Handler.idp = Idp(folder, base)

    def exit_on_stdin_eof():
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=exit_on_stdin_eof, daemon=True).start()
    print(json.dumps({
        "port": port,
        "entity_id": Handler.idp.entity_id,
        "metadata": base + METADATA_PATH,
        "sso": base + SSO_PATH,
    }), flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    main()
