"""Install the Debian packages the test suite uses (bubblewrap, chromium, nodejs) when possible.

Runs as part of `make test`. Without root or apt it only reports; the tests that need a
missing tool then skip locally and say why (CI sets ENTITIES_REQUIRE_SERVICES=1, and the
CI script installs them itself).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

PACKAGES = {"bwrap": "bubblewrap", "chromium": "chromium", "node": "nodejs"}  # node: the chat page's reducer tests


def main() -> int:
    missing = [pkg for exe, pkg in PACKAGES.items() if shutil.which(exe) is None]
    if not missing:
        return 0
    if os.environ.get("ENTITIES_SKIP_SYSTEM_TOOLS"):
        print(f"install_system_tools: skipping {', '.join(missing)} (ENTITIES_SKIP_SYSTEM_TOOLS set)")
        return 0
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        print(f"install_system_tools: {', '.join(missing)} missing and cannot be installed here (need root and apt-get); "
              "the tests that need them will skip and say why.")
        return 0
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    print(f"install_system_tools: installing {', '.join(missing)} with apt-get …", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], env=env, check=False, stdout=subprocess.DEVNULL)
    result = subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], env=env,
                            check=False, stdout=subprocess.DEVNULL)
    if result.returncode != 0:
        print("install_system_tools: apt-get failed; the tests that need these will skip and say why.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
