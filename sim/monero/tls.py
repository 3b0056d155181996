"""The TLS key and certificate monerod and wallet-rpc share, locally and under Shadow."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from sim.monero import ProcessError

__all__ = ["ensure_tls"]


def ensure_tls(directory: Path) -> tuple[Path, Path]:
    """A self-signed EC key and certificate in `directory` (made once). Returns (key, cert).
    Given to both processes, it spares each making its own 4096-bit RSA key at start."""
    directory.mkdir(parents=True, exist_ok=True)
    key, cert = directory / "ssl.key", directory / "ssl.crt"
    if not (key.exists() and cert.exists()):
        openssl = shutil.which("openssl")
        if openssl is None:
            raise ProcessError("openssl not found (make installs it)")
        subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key),
                        "-out", str(cert), "-days", "3650", "-subj", "/CN=localhost"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return key, cert
