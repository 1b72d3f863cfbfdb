"""CPU per DKIM signature of a relayed message, before and after the RSA step moved to OpenSSL
(issue 17: delivery within 5 ms of CPU per message). Results: bench/RESULTS.md ("Relay path").

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench \\
        .venv/bin/python bench/dkim_bench.py [--rounds 3] [--signatures 500]

One verified domain with a 2048-bit key, a ~2 KB message; each round signs it --signatures
times per case (the cases take turns, so that the machine's load weighs on all of them alike)
and prints the CPU time (time.process_time) per signature, then min / median / max:

- dkimpy: `dkim.sign`, as the portal called it before (the PEM parsed by dkimpy, the RSA step
  in Python's `pow`);
- openssl-rsa: the RSA step alone through `cryptography`, the floor of any RSA-2048 signature;
- signature: `relaysettings.dkim.signature_header` with the key in hand (dkimpy's
  canonicalisation and header hashing, OpenSSL's RSA);
- dkim_signed: `relaysettings.services.dkim_signed`, as delivery calls it (the active key read
  from the database, the loaded key from the cache, the signature).
"""

import argparse
import hashlib
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cpu_per_call(call: Callable[[], object], count: int) -> float:
    """Milliseconds of CPU per call, over `count` calls."""
    started = time.process_time()
    for _ in range(count):
        call()
    return 1000 * (time.process_time() - started) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--signatures", type=int, default=500, help="per case and round")
    options = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from bench.relay_bench import setup_django

    setup_django()

    import dkim as dkimpy  # type: ignore[import-untyped]  # dkimpy ships no type information
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

    from bench.relay_fixtures import BODY, BenchOwner
    from core.crypto import decrypt
    from relaysettings import dkim, services
    from relaysettings.models import DkimKey, DnsStatus

    # Nothing is sent: the upstream port is never used.
    bench_owner = BenchOwner.create(sink_port=25, smtp_users=0, domain="dkim-bench.example")
    try:
        relay_setting = bench_owner.relay_setting
        key = dkim.new_dkim_key(relay_setting, state=DkimKey.State.ACTIVE)
        relay_setting.verification_status = DnsStatus.VERIFIED
        relay_setting.save(update_fields=["verification_status"])
        pem = decrypt(key.private_key_encrypted).encode("ascii")
        private_key = serialization.load_pem_private_key(pem, password=None)
        assert isinstance(private_key, rsa.RSAPrivateKey)
        domain, selector = relay_setting.domain.encode("ascii"), key.selector.encode("ascii")
        message = (
            f"From: News <news@{relay_setting.domain}>\r\n"
            "To: reader@destination.test\r\n"
            "Subject: The weekly news, number 42\r\n"
            "Date: Tue, 01 Dec 2026 10:00:00 +0000\r\n"
            f"Message-ID: <42.weekly@{relay_setting.domain}>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "\r\n"
        ).encode() + BODY
        digest = hashlib.sha256(message).digest()
        cases: dict[str, Callable[[], object]] = {
            "dkimpy": lambda: dkimpy.sign(
                message,
                selector,
                domain,
                pem,
                canonicalize=(b"relaxed", b"relaxed"),
                include_headers=dkim.SIGNED_HEADERS,
            ),
            "openssl-rsa": lambda: private_key.sign(
                digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256())
            ),
            "signature": lambda: dkim.signature_header(
                message, domain=domain, selector=selector, private_key=private_key
            ),
            "dkim_signed": lambda: services.dkim_signed(relay_setting, message),
        }
        for call in cases.values():
            call()  # warm: imports, the key cache, the database connection
        print(f"{len(message)}-byte message, {options.signatures} signatures per case and round")
        results: dict[str, list[float]] = {name: [] for name in cases}
        for round_number in range(1, options.rounds + 1):
            load = Path("/proc/loadavg").read_text().split()[:3]
            print(f"round {round_number} (load average {' '.join(load)})")
            for name, call in cases.items():
                results[name].append(cpu_per_call(call, options.signatures))
                print(f"  {name:12} {results[name][-1]:7.3f} ms CPU per signature")
        print("min / median / max, ms CPU per signature")
        for name, values in results.items():
            print(
                f"  {name:12} {min(values):7.3f} / {statistics.median(values):7.3f}"
                f" / {max(values):7.3f}"
            )
    finally:
        bench_owner.delete()


if __name__ == "__main__":
    main()
