"""Checks `sam build`'s output: one aarch64 ELF `bootstrap` per function in template.yaml.

    check_artifacts.py BUILD_DIR

Prints each function's binary size and zipped size; exits non-zero if any is missing or built
for another architecture.
"""

import io
import struct
import sys
import zipfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack import CfnLoader  # noqa: E402  (the template reader the local stack uses)

EM_AARCH64 = 183

build = Path(sys.argv[1])
template = yaml.load((build.parent.parent / "template.yaml").read_text(), Loader=CfnLoader)
functions = [
    name for name, res in template["Resources"].items() if res["Type"] == "AWS::Serverless::Function"
]

failures = 0
for name in sorted(functions):
    binary = build / name / "bootstrap"
    if not binary.is_file():
        print(f"{name}: no bootstrap at {binary}")
        failures += 1
        continue
    data = binary.read_bytes()
    is_elf = data[:4] == b"\x7fELF"
    machine = struct.unpack_from("<H", data, 18)[0] if is_elf else None
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bootstrap", data)
    verdict = "ok" if machine == EM_AARCH64 else f"WRONG (ELF={is_elf}, e_machine={machine})"
    print(f"{name}: {len(data) / 1e6:.2f} MB, zipped {len(buffer.getvalue()) / 1e6:.2f} MB, aarch64 {verdict}")
    failures += machine != EM_AARCH64

sys.exit(1 if failures else 0)
